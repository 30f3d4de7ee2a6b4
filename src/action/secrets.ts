/**
 * Secret masking, done first in every action, before anything is printed:
 * each secret value is registered with the runner (`core.setSecret`, the
 * `::add-mask::` workflow command, docs: "Workflow commands for GitHub
 * Actions", "Masking a value in a log"), which then replaces it by `***` in
 * the log. The values are the `password` and `key` inputs and the same
 * secrets when they come from the environment (RESTORABLE_PASSWORD,
 * RESTORABLE_KEY, the content of RESTORABLE_PASSWORD_FILE) and the S3
 * secrets of the AWS chain (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 *
 * The runner masks line by line, so a multi-line value is also registered
 * one line at a time; a raw key is registered in both of its encodings (hex
 * and base64), so a message that re-encodes it stays masked too.
 */
import { readFileSync } from "node:fs";
import * as core from "@actions/core";
import type { Env } from "../ops/open.js";
import type { InputGetter } from "./inputs.js";

/** Inputs whose values are secrets. */
export const SECRET_INPUTS = ["password", "key"] as const;

/** Environment variables whose values are secrets. */
export const SECRET_ENV = ["RESTORABLE_PASSWORD", "RESTORABLE_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;

/** The strings to register for one secret value: the value, each of its lines, and a 32-byte key's other encoding. */
export function maskForms(value: string): string[] {
  const forms = new Set<string>();
  const v = value.trim();
  if (v === "") return [];
  forms.add(value);
  forms.add(v);
  for (const line of v.split(/\r?\n/)) if (line.trim() !== "") forms.add(line.trim());
  const bytes = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : /^[A-Za-z0-9+/_-]{43}=?$/.test(v) ? Buffer.from(v.replace(/-/g, "+").replace(/_/g, "/"), "base64") : undefined;
  if (bytes?.length === 32) {
    forms.add(bytes.toString("hex"));
    forms.add(bytes.toString("base64"));
    forms.add(bytes.toString("base64url"));
  }
  return [...forms];
}

/**
 * Registers every secret the action may see.
 * @param get the inputs.
 * @param env the environment (process.env).
 * @param mask where to register (default `core.setSecret`).
 * @returns how many distinct strings were registered.
 */
export function maskSecrets(get: InputGetter, env: Env, mask: (secret: string) => void = core.setSecret): number {
  const values: string[] = [];
  for (const name of SECRET_INPUTS) values.push(get(name));
  for (const name of SECRET_ENV) values.push(env[name] ?? "");
  const file = env.RESTORABLE_PASSWORD_FILE;
  if (file) {
    try {
      values.push(readFileSync(file, "utf8"));
    } catch {
      // Unreadable: opening the repository reports it; there is nothing to mask.
    }
  }
  const seen = new Set<string>();
  for (const v of values) for (const form of maskForms(v)) seen.add(form);
  for (const s of seen) mask(s);
  return seen.size;
}
