-- The example operations store that `xsync init --example` writes into ops.db, in the public
-- ops.db schema (see README). Three contacts already exist in the sandbox's demo company under
-- other spellings: C-100 has the same ABN, C-101 the same email, C-102 the same name in other case.
-- JOB-1002 (44.00) is below the example's min_total and JOB-1003 is a draft: neither is pushed.
INSERT INTO contacts (id, name, email, phone, abn, address_line1, city, region, postal_code,
                      country, status, updated_at) VALUES
 ('C-100', 'ABC Furniture Pty Ltd', 'accounts@abcfurniture.com.au', '02 9271 5561',
  '96401060281', '6 George Street', 'Sydney', 'NSW', '2000', 'Australia', 'active',
  '2026-11-01T09:00:00Z'),
 ('C-101', 'City Agency Group', 'sam@cityagency.com.au', NULL, NULL, NULL, 'Brisbane', 'QLD',
  '4000', 'Australia', 'active', '2026-11-01T09:00:00Z'),
 ('C-102', 'boom fm', NULL, '03 9000 1111', NULL, NULL, 'Melbourne', 'VIC', '3000',
  'Australia', 'active', '2026-11-01T09:00:00Z'),
 ('C-103', 'Harbourside Builders', 'office@harbourside.example', '02 8000 2000',
  '53004085616', '12 Wharf Road', 'Balmain', 'NSW', '2041', 'Australia', 'active',
  '2026-11-01T09:00:00Z'),
 ('C-104', 'Northside Plumbing', 'jobs@northside.example', '02 8000 3000', '74172177893',
  '3 Pipe Lane', 'Chatswood', 'NSW', '2067', 'Australia', 'active', '2026-11-01T09:00:00Z');

INSERT INTO invoices (id, number, contact_id, date, due_date, reference, currency, amounts_are,
                      status, subtotal, total_tax, total, amount_paid, amount_credited,
                      amount_due, paid_on, updated_at) VALUES
 ('J-1001', 'JOB-1001', 'C-103', '2026-11-10', '2026-12-10', 'Kitchen refit', 'AUD',
  'exclusive', 'approved', '2450.00', '245.00', '2695.00', '0.00', '0.00', '2695.00', NULL,
  '2026-11-10T02:00:00Z'),
 ('J-1002', 'JOB-1002', 'C-104', '2026-11-11', '2026-12-11', 'Call-out', 'AUD', 'exclusive',
  'approved', '40.00', '4.00', '44.00', '0.00', '0.00', '44.00', NULL, '2026-11-11T02:00:00Z'),
 ('J-1003', 'JOB-1003', 'C-100', '2026-11-12', '2026-12-12', 'Showroom fit-out (quote)', 'AUD',
  'exclusive', 'draft', '3200.00', '320.00', '3520.00', '0.00', '0.00', '3520.00', NULL,
  '2026-11-12T02:00:00Z');

INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                           account_code, category, tax_type, tax_amount, line_amount,
                           discount_rate) VALUES
 ('J-1001-1', 'J-1001', 1, 'Labour: kitchen refit', '20', '95.00', '200', NULL, 'OUTPUT',
  '190.00', '1900.00', NULL),
 ('J-1001-2', 'J-1001', 2, 'Materials: cabinetry', '1', '550.00', '200', NULL, 'OUTPUT',
  '55.00', '550.00', NULL),
 ('J-1002-1', 'J-1002', 1, 'Call-out fee', '1', '40.00', '200', NULL, 'OUTPUT', '4.00',
  '40.00', NULL),
 ('J-1003-1', 'J-1003', 1, 'Showroom fit-out', '1', '3200.00', '200', NULL, 'OUTPUT',
  '320.00', '3200.00', NULL);

INSERT INTO bills (id, number, contact_id, date, due_date, reference, currency, amounts_are,
                   status, subtotal, total_tax, total, updated_at) VALUES
 ('B-2001', 'NP-7781', 'C-104', '2026-11-09', '2026-12-09', NULL, 'AUD', 'exclusive',
  'approved', '310.00', '31.00', '341.00', '2026-11-09T02:00:00Z');

INSERT INTO bill_lines (id, bill_id, position, description, quantity, unit_price, account_code,
                        category, tax_type, tax_amount, line_amount, discount_rate) VALUES
 ('B-2001-1', 'B-2001', 1, 'Copper fittings', '10', '31.00', NULL, 'materials', 'INPUT',
  '31.00', '310.00', NULL);
