-- The money story in ops.db: rows the operations platform writes and the questions a bookkeeper
-- asks once xsync has synced. Run the inserts into a workspace's ops.db (with `[mappings.tracking]
-- job = "Job"` and `site = "Site"` in xsync.toml), `xsync sync`, pay or reverse in Xero, sync
-- again, then run the queries:   sqlite3 ops.db < examples/money.sql

-- A supplier's bill and a tracked job (pushed to Xero: the bill as ACCPAY, the job's lines with
-- their Job and Site tracking).
INSERT OR IGNORE INTO contacts (id, name, email, status, updated_at) VALUES
    ('S-1', 'Harbour Timber Supplies', 'ap@harbourtimber.example', 'active',
     '2026-11-24T10:00:00Z'),
    ('C-7', 'Balmain Renovations', 'office@balmainreno.example', 'active',
     '2026-11-24T10:00:00Z');
INSERT OR IGNORE INTO bills (id, number, contact_id, date, due_date, status, updated_at) VALUES
    ('BL-1', 'HTS-5001', 'S-1', '2026-11-10', '2026-12-10', 'approved', '2026-11-24T10:00:00Z');
INSERT OR IGNORE INTO bill_lines (id, bill_id, position, description, quantity, unit_price,
                                  account_code, tax_type, job, site) VALUES
    ('BL-1-1', 'BL-1', 1, 'Hardwood decking', '10', '50.00', '400', 'INPUT', 'J-100', 'Balmain');
INSERT OR IGNORE INTO invoices (id, number, contact_id, date, due_date, status, updated_at)
VALUES ('J-2001', 'JOB-2001', 'C-7', '2026-11-24', '2026-12-24', 'approved',
        '2026-11-24T10:00:00Z');
INSERT OR IGNORE INTO invoice_lines (id, invoice_id, position, description, quantity,
                                     unit_price, account_code, tax_type, job, site) VALUES
    ('J-2001-1', 'J-2001', 1, 'Framing', '8', '95.00', '200', 'OUTPUT', 'J-100', 'Balmain');

-- A deposit taken before the job was invoiced (pushed to Xero as a prepayment: receive money into
-- bank account 090, held on account 200 with GST), and the part of it applied to the job's
-- invoice (pushed once the invoice is approved in Xero; the date is filled in by xsync).
INSERT OR IGNORE INTO credits (id, kind, contact_id, date, reference, total, updated_at,
                               bank_account, account_code, tax_type) VALUES
    ('DEP-1', 'prepayment', 'C-7', '2026-11-20', 'Deposit, JOB-2001', '500.00',
     '2026-11-24T10:00:00Z', '090', '200', 'OUTPUT');
INSERT OR IGNORE INTO allocations (id, kind, credit_id, invoice_id, amount, updated_at) VALUES
    ('DEP-1-A', 'prepayment', 'DEP-1', 'J-2001', '300.00', '2026-11-24T10:00:00Z');

-- Bills paid in Xero: status, what was paid and when (payments name their bill in bill_id).
SELECT b.number, b.status, b.amount_paid, b.amount_due, b.paid_on,
       count(p.id) AS payments
FROM bills b LEFT JOIN payments p ON p.bill_id = b.id AND p.status = 'authorised'
GROUP BY b.id;

-- Payments the accountant deleted in Xero (bounced transfers): their documents owe again.
SELECT p.date, p.amount, coalesce(i.number, b.number) AS document
FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id LEFT JOIN bills b ON b.id = p.bill_id
WHERE p.status = 'reversed';

-- Contacts merged in Xero, and the contact each now lives on as; no document names them.
SELECT merged.name AS merged, kept.name AS into_contact,
       (SELECT count(*) FROM invoices WHERE contact_id = merged.id) AS invoices_left
FROM contacts merged JOIN contacts kept ON kept.id = merged.merged_into;

-- Job costing: what each job earned and cost, by its tracking option.
SELECT job, sum(CASE WHEN kind = 'sale' THEN amount ELSE 0 END) AS sales,
       sum(CASE WHEN kind = 'cost' THEN amount ELSE 0 END) AS costs
FROM (SELECT job, 'sale' AS kind, CAST(line_amount AS NUMERIC) AS amount FROM invoice_lines
      UNION ALL
      SELECT job, 'cost', CAST(line_amount AS NUMERIC) FROM bill_lines)
WHERE job IS NOT NULL GROUP BY job;

-- Customers' overpayments and prepayments (deposits) in Xero, what is left of each, and how
-- much of it was refunded in cash.
SELECT c.kind, k.name AS customer, c.date, c.reference, c.total, c.remaining, c.status,
       (SELECT coalesce(sum(CAST(p.amount AS NUMERIC)), 0) FROM payments p
        WHERE p.credit_id = c.id AND p.status = 'authorised') AS refunded
FROM credits c LEFT JOIN contacts k ON k.id = c.contact_id ORDER BY c.date;

-- Customers with credit left to apply, against what their invoices still owe.
SELECT k.name, sum(CAST(c.remaining AS NUMERIC)) AS credit_left,
       (SELECT sum(CAST(i.amount_due AS NUMERIC)) FROM invoices i
        WHERE i.contact_id = k.id AND i.status = 'approved') AS owing
FROM credits c JOIN contacts k ON k.id = c.contact_id
WHERE c.status = 'approved' GROUP BY k.id;

-- Each invoice's credit, allocation by allocation: which credit note, overpayment or prepayment
-- paid how much of it, and when.
SELECT i.number, a.kind, coalesce(n.number, c.reference) AS credit, a.amount, a.date
FROM allocations a JOIN invoices i ON i.id = a.invoice_id
LEFT JOIN credit_notes n ON n.id = a.credit_note_id LEFT JOIN credits c ON c.id = a.credit_id
WHERE a.status = 'applied' ORDER BY i.number, a.date;

-- Deposits taken in ops: what Xero made of each (remaining, status), and each invoice it was
-- applied to with what that invoice still owes.
SELECT c.id, c.date, c.total, c.remaining, c.status, i.number, a.amount AS applied,
       a.date AS applied_on, i.amount_due
FROM credits c LEFT JOIN allocations a ON a.credit_id = c.id AND a.status = 'applied'
LEFT JOIN invoices i ON i.id = a.invoice_id
WHERE c.bank_account IS NOT NULL ORDER BY c.date, a.date;
