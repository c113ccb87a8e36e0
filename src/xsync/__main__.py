from xsync.cli.app import main

main()
