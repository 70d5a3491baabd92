-- The earlier Python Archive's tables, as its ORM made them (docs/contract.md section 6): text
-- timestamps, JSON as text, numeric(10,2), no uniqueness per period, no index on the line
-- items' snapshot_id. What `archive import-legacy` reads; the tests and the import benchmark
-- build their old databases from this file. To try an import:
--   createdb old_archive && psql old_archive -f docs/legacy-schema.sql   (then insert old rows)
CREATE TABLE billing_snapshots (
  id serial PRIMARY KEY,
  company_account_number varchar(50) NOT NULL,
  company_name varchar(150),
  invoice_number varchar(50) UNIQUE NOT NULL,
  billing_year integer NOT NULL,
  billing_month integer NOT NULL,
  invoice_date text,
  due_date text,
  archived_at text,
  billing_plan varchar(100),
  contract_term varchar(50),
  support_level varchar(100),
  total_amount numeric(10,2),
  total_user_charges numeric(10,2),
  total_asset_charges numeric(10,2),
  total_backup_charges numeric(10,2),
  total_ticket_charges numeric(10,2),
  total_line_item_charges numeric(10,2),
  user_count integer,
  asset_count integer,
  billable_hours numeric(10,2),
  billing_data_json text,
  invoice_csv text,
  created_by varchar(100),
  notes text
);
CREATE TABLE snapshot_line_items (
  id serial PRIMARY KEY,
  snapshot_id integer REFERENCES billing_snapshots (id),
  line_type varchar(50),
  item_name varchar(255),
  description text,
  quantity numeric(10,2),
  rate numeric(10,2),
  amount numeric(10,2)
);
CREATE TABLE scheduled_snapshots (
  id serial PRIMARY KEY, enabled boolean, day_of_month integer, hour integer, snapshot_previous_month boolean,
  snapshot_all_companies boolean, last_run_at text, last_run_status varchar(20), last_run_count integer, last_run_log text,
  created_at text, updated_at text
);
CREATE TABLE snapshot_jobs (
  id varchar(50) PRIMARY KEY, job_type varchar(50), status varchar(20), target_year integer, target_month integer,
  target_account_numbers text, total_companies integer, completed_companies integer, failed_companies integer,
  started_at text, completed_at text, output text, error text, success boolean, triggered_by varchar(100)
);