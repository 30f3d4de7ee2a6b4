/**
 * Recognise a SQLite database by its content, never by its name.
 *
 * Format source: https://www.sqlite.org/fileformat2.html, "1.3 The Database
 * Header": every SQLite 3 database file begins with the 16 bytes
 * "SQLite format 3\0".
 */

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { fsSourceError } from "./fs-errors.js";

/** The 16-byte magic string at offset 0 of every SQLite 3 database file. */
export const SQLITE_MAGIC: Buffer = Buffer.from("SQLite format 3\0", "latin1");

/** Suffixes of the files SQLite keeps next to a database (WAL, shared-memory index, rollback journal). */
export const SQLITE_SIBLING_SUFFIXES: readonly string[] = ["-wal", "-shm", "-journal"];

/**
 * True when `path` is a regular file whose first 16 bytes are "SQLite format 3\0".
 *
 * The file is opened with O_NONBLOCK, so a FIFO or device given by mistake
 * never blocks; anything that is not a regular file (after following
 * symlinks) answers false, and so does a file shorter than 16 bytes.
 *
 * @throws SourceError when the file cannot be opened or read (ENOENT,
 *   EACCES...); `details.path` and `details.errno` say which and why.
 */
export async function isSqliteFile(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fsSourceError("cannot open", path, err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size < SQLITE_MAGIC.length) return false;
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(SQLITE_MAGIC);
  } catch (err) {
    throw fsSourceError("cannot read", path, err);
  } finally {
    await handle.close();
  }
}
