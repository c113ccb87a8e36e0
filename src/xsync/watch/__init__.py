"""`xsync watch`: Xero's webhooks received, the ops store watched, both synced within seconds.

- :mod:`.receiver`: the HTTP receiver of Xero's webhooks (``/xero/webhooks``, ``/healthz``);
- :mod:`.loop`: the change-driven loop, one engine step at a time, under the run lock;
- :mod:`.key`: where the webhook key comes from (``XSYNC_WEBHOOK_KEY``, else the keyring);
- :mod:`.notify`: ``--notify-command``.
"""
