-- The file's sha-256 (the Uploader computes it while it stores the upload), carried by
-- downloader-sync's file registration so that the download redirector can answer
-- Repr-Digest / Digest and Metalink hashes. Files registered before this migration have
-- none until their next registration (the replicator's or a reconciliation's).
ALTER TABLE files ADD COLUMN IF NOT EXISTS sha256 text;
