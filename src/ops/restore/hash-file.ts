import { createHash } from "node:crypto";
import { closeSync, constants, openSync, readSync } from "node:fs";

/** Read buffer, made once: a stream per file allocated a 4 MiB buffer for each of 58,588 small files. */
let block: Buffer | undefined;

/**
 * SHA-256 (hex) of a file's content, read with blocking calls through one reused 1 MiB buffer
 * (restore's `--verify` reads every restored file: mostly small and in the page cache).
 * @throws the file system's error (ELOOP when `path` is a symlink: it is never followed).
 */
export async function sha256File(path: string): Promise<string> {
  const buf = (block ??= Buffer.allocUnsafeSlow(1024 * 1024));
  const hash = createHash("sha256");
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return Promise.resolve(hash.digest("hex"));
}
