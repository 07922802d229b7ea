-- The claim takes the first runnable job in queue order. Without an index on `seq` over
-- unfinished jobs alone, every claim read every queued job and sorted them (9.6 ms a claim
-- with 20,000 queued on PostgreSQL): a deep queue slowed its own draining. This index
-- holds only jobs without `finished_at` (queued and running: every final state sets it,
-- a retry clears it), so finished history costs the claim nothing.
--
-- Its condition is one no other query states, on purpose. A partial index's statistics
-- date from the last ANALYZE, typically of an idle queue, when it held no rows: indexed
-- on `state IN ('queued', 'running')`, PostgreSQL took it for empty and walked all of it
-- to find one job by id in `complete`. SQLite uses a partial index only when the query
-- repeats its condition, which the claim does.
CREATE INDEX jobs_unfinished_seq ON jobs (seq) WHERE finished_at IS NULL;

-- All jobs by `seq`: SQLite's enqueue reads MAX(seq), and the newest-first listing of
-- every job walks it backwards instead of sorting the whole table.
CREATE INDEX jobs_seq ON jobs (seq);
