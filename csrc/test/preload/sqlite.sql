-- Deterministic SQLite workload for the LD_PRELOAD check: the output of this script must be the
-- same with and without libarenalloc.so preloaded. Tens of thousands of rows, an index, joins,
-- aggregates, sorting, string functions, updates, deletes and a VACUUM.
PRAGMA cache_size = -32000;
PRAGMA journal_mode = WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL, blob BLOB);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 60000)
INSERT INTO t(id, grp, name, val, blob)
SELECT n,
       (n * 7919) % 257,
       printf('name-%08d-%s', (n * 104729) % 1000003, substr('abcdefghijklmnopqrstuvwxyz', 1 + n % 26)),
       ((n * 31337) % 100000) / 7.0,
       zeroblob(n % 300)
FROM seq;
CREATE INDEX t_grp ON t(grp, val);
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(grp), round(sum(val), 3), sum(length(blob)) FROM t;
SELECT grp, count(*), round(avg(val), 4), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 20;
SELECT name FROM t WHERE name LIKE 'name-0001%' ORDER BY name LIMIT 15;
CREATE TABLE g(grp INTEGER PRIMARY KEY, label TEXT);
INSERT INTO g SELECT DISTINCT grp, 'label ' || upper(hex(grp * 12345)) FROM t;
SELECT g.label, count(*), round(sum(t.val), 2) FROM t JOIN g USING (grp)
  WHERE t.id % 11 = 0 GROUP BY g.label ORDER BY 3 DESC, 1 LIMIT 10;
UPDATE t SET name = replace(name, 'name-', 'renamed-') || printf('%0*d', id % 50, 0) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(name)), max(length(name)) FROM t;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY val DESC, id LIMIT 200);
SELECT id, name FROM t ORDER BY name DESC LIMIT 5 OFFSET 1000;
CREATE TABLE big AS SELECT a.id AS x, b.id AS y FROM t a JOIN t b ON b.id = a.id + 1 WHERE a.id < 30000;
SELECT count(*), sum(x), sum(y) FROM big;
SELECT count(DISTINCT substr(name, 1, 12)) FROM t;
VACUUM;
PRAGMA integrity_check;
SELECT count(*) FROM t WHERE grp BETWEEN 10 AND 20 AND val > 5000;
