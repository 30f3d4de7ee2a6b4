/** `restorable key list | add | remove | passwd`: manage key slots. */
import type { Command } from "commander";
import { toHex } from "../../core/crypto.js";
import { ConfigError } from "../../core/errors.js";
import type { Secret } from "../../core/keyslot.js";
import { addKey, changePassword, generateRawKey, listKeys, removeKey } from "../../ops/keys.js";
import { readKeyFile, readPasswordFile, scryptNFromEnv } from "../../ops/open.js";
import type { CliContext } from "../context.js";
import { shortTime, table } from "../format.js";

interface AddFlags {
  readonly label?: string;
  readonly newPasswordFile?: string;
  readonly newKeyFile?: string;
  readonly generateKey?: boolean;
}

export function registerKey(program: Command, ctx: CliContext): void {
  const key = program.command("key").description("manage the key slots that open the repository");

  key
    .command("list")
    .description("list key slots (* = the one used now)")
    .action(async () => {
      await ctx.withRepo(async ({ repo }) => {
        const keys = await listKeys(repo);
        ctx.emit({ keys }, () =>
          table(["", "ID", "KIND", "LABEL", "CREATED", "HOST"], keys.map((k) => [k.current ? "*" : "", k.id, k.kind, k.label ?? "-", shortTime(k.createdAt), k.host])),
        );
      });
    });

  key
    .command("add")
    .description("add a key slot opened by a new password, a raw key file, or a newly generated raw key")
    .option("--label <label>", "a name for the slot, shown by key list")
    .option("--new-password-file <file>", "the new password (one line)")
    .option("--new-key-file <file>", "a raw 32-byte key as 64 hex digits or base64")
    .option("--generate-key", "generate a random raw key and print it in hex, once, on stdout")
    .action(async (flags: AddFlags) => {
      const given = [flags.newPasswordFile, flags.newKeyFile, flags.generateKey].filter((v) => v !== undefined && v !== false);
      if (given.length !== 1) throw new ConfigError("key add: give exactly one of --new-password-file, --new-key-file or --generate-key", { field: "key" });
      let secret: Secret;
      let generated: Uint8Array | undefined;
      if (flags.newPasswordFile !== undefined) secret = { kind: "password", password: await readPasswordFile(flags.newPasswordFile, ctx.io.cwd, "--new-password-file") };
      else if (flags.newKeyFile !== undefined) secret = { kind: "raw", key: await readKeyFile(flags.newKeyFile, ctx.io.cwd, "--new-key-file") };
      else {
        generated = generateRawKey();
        secret = { kind: "raw", key: generated };
      }
      const scryptN = scryptNFromEnv(ctx.io.env);
      await ctx.withRepo(async ({ repo }) => {
        const added = await addKey(repo, secret, { ...(flags.label ? { label: flags.label } : {}), ...(scryptN ? { scryptN } : {}) });
        if (generated) ctx.note("the generated key is printed once, below (stdout); store it now: it is not shown again");
        ctx.emit({ key: added, ...(generated ? { generatedKey: toHex(generated) } : {}) }, () =>
          generated ? [toHex(generated)] : [`added key slot ${added.id} (${added.kind}${added.label ? `, ${added.label}` : ""})`],
        );
        if (generated) ctx.note(`added key slot ${added.id} (raw); open with RESTORABLE_KEY=<the key>`);
      });
    });

  key
    .command("remove")
    .description("remove a key slot (never the last one, nor the one used to open)")
    .argument("<id>", "slot id from key list")
    .action(async (id: string) => {
      await ctx.withRepo(async ({ repo }) => {
        await removeKey(repo, id);
        ctx.emit({ removed: id }, () => [`removed key slot ${id}`]);
      });
    });

  key
    .command("passwd")
    .description("change the password: add a slot for the new password, then remove the slot that was used")
    .requiredOption("--new-password-file <file>", "the new password (one line)")
    .action(async (flags: { newPasswordFile: string }) => {
      const password = await readPasswordFile(flags.newPasswordFile, ctx.io.cwd, "--new-password-file");
      const scryptN = scryptNFromEnv(ctx.io.env);
      await ctx.withRepo(async ({ repo }) => {
        const r = await changePassword(repo, password, scryptN ? { scryptN } : {});
        ctx.emit({ added: r.added, removed: r.removed }, () => [`password changed: added key slot ${r.added.id}, removed key slot ${r.removed}`]);
      });
    });
}
