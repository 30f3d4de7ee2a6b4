import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { capabilityWarnings, resolveLocation, resolveSecret, scryptNFromEnv } from "../../src/ops/open.js";

describe("ops/open", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "restorable-open-"));
    await writeFile(join(dir, "pw"), "from file\n");
    await writeFile(join(dir, "empty"), "\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("picks the location: flag, then environment, then the file", () => {
    expect(resolveLocation({ repo: "r", env: { RESTORABLE_REPOSITORY: "/e" }, cwd: "/w", configRepository: "/c" })).toBe("/w/r");
    expect(resolveLocation({ env: { RESTORABLE_REPOSITORY: "s3://b/p" }, cwd: "/w", configRepository: "/c" })).toBe("s3://b/p");
    expect(resolveLocation({ env: {}, cwd: "/w", configRepository: "/c" })).toBe("/c");
    expect(() => resolveLocation({ env: {}, cwd: "/w" })).toThrow(/--repo.*RESTORABLE_REPOSITORY.*restorable\.yml/);
  });

  it("picks the secret in the documented order and names every variable when none is set", async () => {
    const key = "11".repeat(32);
    expect(await resolveSecret({ passwordFile: "pw", env: { RESTORABLE_KEY: key }, cwd: dir })).toEqual({ kind: "password", password: "from file" });
    const raw = await resolveSecret({ env: { RESTORABLE_KEY: key, RESTORABLE_PASSWORD: "p" }, cwd: dir });
    expect(raw.kind).toBe("raw");
    expect(await resolveSecret({ env: { RESTORABLE_PASSWORD: "p", RESTORABLE_PASSWORD_FILE: "pw" }, cwd: dir })).toEqual({ kind: "password", password: "p" });
    expect(await resolveSecret({ env: { RESTORABLE_PASSWORD_FILE: join(dir, "pw") }, cwd: "/" })).toEqual({ kind: "password", password: "from file" });
    const none = await resolveSecret({ env: {}, cwd: dir }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ConfigError);
    expect((none as Error).message).toMatch(/--password-file, RESTORABLE_PASSWORD, RESTORABLE_PASSWORD_FILE or RESTORABLE_KEY/);
    await expect(resolveSecret({ passwordFile: "empty", env: {}, cwd: dir })).rejects.toThrow(/--password-file: empty is empty/);
    await expect(resolveSecret({ env: { RESTORABLE_KEY: "xyz" }, cwd: dir })).rejects.toThrow(/RESTORABLE_KEY: expected a 32-byte key/);
  });

  it("accepts RESTORABLE_SCRYPT_N only as a power of two >= 1024", () => {
    expect(scryptNFromEnv({})).toBeUndefined();
    expect(scryptNFromEnv({ RESTORABLE_SCRYPT_N: "1024" })).toBe(1024);
    for (const bad of ["1000", "512", "abc", "3072"]) expect(() => scryptNFromEnv({ RESTORABLE_SCRYPT_N: bad })).toThrow(ConfigError);
  });

  it("warns about each missing store capability", () => {
    const all = { conditionalCreate: true, readAfterWrite: true, listAfterWrite: true, probedAt: "", cleanedUp: true };
    expect(capabilityWarnings(all)).toEqual([]);
    expect(capabilityWarnings({ ...all, conditionalCreate: false, listAfterWrite: false })).toHaveLength(2);
  });
});
