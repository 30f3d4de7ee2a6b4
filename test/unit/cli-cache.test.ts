import { expect, it } from "vitest";
import { indexCacheRoot } from "../../src/cli/context.js";

it("puts the index cache under RESTORABLE_CACHE_DIR, XDG_CACHE_HOME or ~/.cache, and nowhere when disabled", () => {
  expect(indexCacheRoot({ RESTORABLE_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/c");
  expect(indexCacheRoot({ XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/x/restorable");
  expect(indexCacheRoot({ HOME: "/h" })).toBe("/h/.cache/restorable");
  expect(indexCacheRoot({ RESTORABLE_CACHE_DIR: "", HOME: "/h" })).toBeUndefined();
  expect(indexCacheRoot({})).toBeUndefined();
});

it("uses the index cache for remote repositories only", async () => {
  const { isRemoteLocation } = await import("../../src/cli/context.js");
  expect(isRemoteLocation("s3://bucket/prefix")).toBe(true);
  expect(isRemoteLocation("/srv/backup")).toBe(false);
  expect(isRemoteLocation("file:///srv/backup")).toBe(false);
  expect(isRemoteLocation("relative/repo")).toBe(false);
});
