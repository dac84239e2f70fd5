CREATE TABLE klepto_archives (
  name TEXT NOT NULL PRIMARY KEY,
  table_name TEXT NOT NULL UNIQUE,
  keymap TEXT NOT NULL,
  keymap_version INTEGER NOT NULL DEFAULT 1,
  codec TEXT NOT NULL DEFAULT 'json',
  policy TEXT NOT NULL DEFAULT '',
  max_entries INTEGER NOT NULL DEFAULT 0,
  max_bytes INTEGER NOT NULL DEFAULT 0,
  ttl_ns INTEGER NOT NULL DEFAULT 0,
  func_version TEXT NOT NULL DEFAULT '',
  layout_version INTEGER NOT NULL DEFAULT 1,
  hits INTEGER NOT NULL DEFAULT 0,
  misses INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
