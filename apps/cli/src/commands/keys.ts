import { create } from "@bufbuild/protobuf";
import {
  type ApiKey,
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  RevokeApiKeyResponseSchema,
  type Scope,
} from "@herald/contracts";
import type { Command } from "commander";
import { type Bind, idArg } from "../command.js";
import { formatTime, NONE, renderFields, renderTable, scopeName } from "../format.js";
import { printList } from "../pages.js";
import { collectScopes, SCOPE_NAMES } from "../parse.js";

interface ListOptions {
  tenant?: string;
}

interface CreateOptions {
  name: string;
  tenant?: string;
  scope: Scope[];
}

const keyState = (key: ApiKey) => (key.revoked ? "revoked" : "active");
const keyTenant = (key: ApiKey) => key.tenantId || "(all: admin)";

export function apiKeyRows(keys: readonly ApiKey[]): string {
  return renderTable(
    ["id", "name", "tenant", "scopes", "state", "created"],
    keys.map((k) => [
      k.id,
      k.name,
      keyTenant(k),
      k.scopes.map(scopeName).join(","),
      keyState(k),
      formatTime(k.createTime),
    ]),
  );
}

export function apiKeyDetails(key: ApiKey | undefined): string {
  if (!key) return NONE;
  return renderFields([
    ["id", key.id],
    ["name", key.name],
    ["tenant", keyTenant(key)],
    ["scopes", key.scopes.map(scopeName).join(",")],
    ["state", keyState(key)],
    ["created", formatTime(key.createTime)],
  ]);
}

export function registerKeyCommands(program: Command, bind: Bind): void {
  const keys = program.command("keys").description("manage API keys (admin keys)");

  keys
    .command("list")
    .description("list API keys (never their secrets)")
    .option("--tenant <id>", "only this tenant's keys")
    .action(
      bind<ListOptions>(async (ctx, _args, options) => {
        await printList(ctx, {
          call: (paging) => ctx.clients.apiKeys.listApiKeys({ tenantId: options.tenant ?? "", ...paging }),
          items: (res) => res.apiKeys,
          schema: ListApiKeysResponseSchema,
          response: (page) => create(ListApiKeysResponseSchema, { apiKeys: page.items }),
          empty: "no API keys",
          rows: apiKeyRows,
        });
      }),
    );

  keys
    .command("create")
    .description("create an API key and print its token, which is shown only this once")
    .requiredOption("--name <name>", "what the key is for")
    .option("--tenant <id>", "the tenant the key acts on; required unless the scope is admin")
    .requiredOption(
      "--scope <scope>",
      `what the key may do (repeatable or comma-separated): ${SCOPE_NAMES.join(", ")}`,
      collectScopes,
    )
    .action(
      bind<CreateOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.apiKeys.createApiKey({
          name: options.name,
          tenantId: options.tenant ?? "",
          scopes: options.scope,
        });
        ctx.output(CreateApiKeyResponseSchema, res, () =>
          [
            apiKeyDetails(res.apiKey),
            "",
            "API key token (shown only now; store it safely, it cannot be shown again):",
            res.token,
          ].join("\n"),
        );
      }),
    );

  keys
    .command("revoke")
    .description("revoke an API key at once")
    .argument("<id>", "API key id (the part after hk_ and before the next _)")
    .action(
      bind(async (ctx, args) => {
        const res = await ctx.clients.apiKeys.revokeApiKey({ apiKeyId: idArg(args) });
        ctx.output(RevokeApiKeyResponseSchema, res, () => `API key ${idArg(args)} revoked`);
      }),
    );
}
