/**
 * The set of blobs (listing blobs, chunk-list blobs, file chunks) that a set
 * of snapshots references. Listing and chunk-list blobs are read once each,
 * however many snapshots share them, so a thousand snapshots of a slowly
 * changing tree cost about as much as the distinct blobs they hold.
 */
import { IntegrityError } from "../../core/errors.js";
import type { SnapshotManifest } from "../../core/manifest.js";
import type { ChunkReader } from "../../repo/chunk-reader.js";
import { fileChunkIds, readListing } from "../../repo/listing.js";

/** Hex ids of every blob `manifests` reference. @throws IntegrityError when a referenced blob cannot be read. */
export async function usedBlobs(reader: ChunkReader, manifests: readonly SnapshotManifest[]): Promise<Set<string>> {
  const used = new Set<string>();
  const listingsRead = new Set<string>();
  for (const m of manifests) {
    for (const src of m.sources) {
      // A listing is read again only when one of its blobs is new to us.
      const key = src.listing.join(",");
      src.listing.forEach((id) => used.add(id));
      if (listingsRead.has(key)) continue;
      listingsRead.add(key);
      let entries;
      try {
        entries = await readListing(reader, src.listing);
      } catch (err) {
        throw new IntegrityError(`snapshot ${m.id}, source ${src.name}: listing cannot be read (${(err as Error).message}); run \`restorable verify\` and \`restorable repair index\``, { snapshot: m.id }, { cause: err });
      }
      for (const e of entries) {
        if (e.t !== "f") continue;
        for (const id of e.c ?? []) used.add(id);
        if (!e.cl) continue;
        if (e.cl.every((id) => used.has(id))) continue; // this chunk list was resolved before
        e.cl.forEach((id) => used.add(id));
        for (const id of await fileChunkIds(reader, e)) used.add(id);
      }
    }
  }
  return used;
}
