/**
 * The zod schema of the `retention:` section of restorable.yml, embedded in
 * the configuration schema (src/config/schema.ts). It accepts exactly what
 * `parsePolicy` (retention-parse.ts, no zod) accepts, with the same messages:
 * counts are non-negative integers, durations strings in restic's syntax,
 * `keep-tag` a list of tags (one string is taken as a list of one),
 * `group-by` one of sources/tags/none, `time-zone` an IANA name; strict (an
 * unknown key is an error). The rest of the policy API is re-exported from
 * retention-parse.ts, so existing imports keep working.
 */
import { z } from "zod";
import { COUNT_MSG, DURATION_MSG, GROUP_BY, GROUP_BY_MSG, parseDuration, TAG_MSG, TAGS_MSG, ZONE_MSG, type RetentionPolicy } from "./retention-parse.js";
import { isValidTimeZone } from "./zoned-time.js";

export * from "./retention-parse.js";

const count = z.number({ error: COUNT_MSG }).int({ error: COUNT_MSG }).min(0, { error: COUNT_MSG });
const duration = z.string({ error: DURATION_MSG }).refine((s) => parseDuration(s) !== undefined, { error: DURATION_MSG });
const tag = z.string({ error: TAG_MSG }).min(1, { error: TAG_MSG });

/** zod schema of the `retention:` section (see the file comment). */
export const RetentionSchema = z.strictObject({
  "keep-last": count.optional(),
  "keep-hourly": count.optional(),
  "keep-daily": count.optional(),
  "keep-weekly": count.optional(),
  "keep-monthly": count.optional(),
  "keep-yearly": count.optional(),
  "keep-within": duration.optional(),
  "keep-within-hourly": duration.optional(),
  "keep-within-daily": duration.optional(),
  "keep-within-weekly": duration.optional(),
  "keep-within-monthly": duration.optional(),
  "keep-within-yearly": duration.optional(),
  "keep-tag": z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(tag, { error: TAGS_MSG })).optional(),
  "group-by": z.enum(GROUP_BY, { error: GROUP_BY_MSG }).optional(),
  "time-zone": z.string({ error: ZONE_MSG }).refine(isValidTimeZone, { error: ZONE_MSG }).optional(),
});

// The schema's output and RetentionPolicy must stay the same type (a compile error here when they drift).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameType: Same<z.infer<typeof RetentionSchema>, RetentionPolicy> = true;
void sameType;
