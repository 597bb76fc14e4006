import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { GetEndpointSecretResponseSchema, RotateSecretResponseSchema } from "@herald/contracts";
import type { Command } from "commander";
import type { Bind } from "../command.js";
import { formatTime, NONE, renderTable } from "../format.js";
import { parseDuration } from "../parse.js";

interface SecretOptions {
  tenant: string;
  endpoint: string;
}

interface RotateOptions extends SecretOptions {
  overlap?: number;
  secret?: string;
}

export function registerSecretCommands(program: Command, bind: Bind): void {
  const secret = program.command("secret").description("an endpoint's signing secrets");

  secret
    .command("rotate")
    .description("issue a new signing secret; the previous one stays valid for the overlap")
    .requiredOption("--tenant <id>", "tenant id")
    .requiredOption("--endpoint <id>", "endpoint id")
    .option(
      "--overlap <duration>",
      "how long the previous secret stays valid (default 24h, at most 7d; 0s ends it now)",
      parseDuration,
    )
    .option("--secret <whsec_...>", "the new secret; generated when left out")
    .action(
      bind<RotateOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.endpoints.rotateSecret({
          tenantId: options.tenant,
          endpointId: options.endpoint,
          secret: options.secret ?? "",
          overlap: options.overlap !== undefined ? durationFromMs(options.overlap) : undefined,
        });
        ctx.output(RotateSecretResponseSchema, res, () => {
          const secrets = res.endpoint?.secrets ?? [];
          return [
            `rotated the signing secret of endpoint ${options.endpoint}`,
            renderTable(
              ["secret id", "created", "expires"],
              secrets.map((s) => [
                s.id,
                formatTime(s.createTime),
                s.expireTime ? formatTime(s.expireTime) : "current",
              ]),
            ),
            `(herald secret get --tenant ${options.tenant} --endpoint ${options.endpoint} shows the values)`,
          ].join("\n");
        });
      }),
    );

  secret
    .command("get")
    .description("print an endpoint's valid signing secrets, newest first")
    .requiredOption("--tenant <id>", "tenant id")
    .requiredOption("--endpoint <id>", "endpoint id")
    .action(
      bind<SecretOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.endpoints.getEndpointSecret({
          tenantId: options.tenant,
          endpointId: options.endpoint,
        });
        ctx.output(GetEndpointSecretResponseSchema, res, () =>
          res.secrets.length === 0
            ? "no valid secrets"
            : renderTable(
                ["id", "secret", "expires"],
                res.secrets.map((s) => [s.id, s.secret, s.expireTime ? formatTime(s.expireTime) : NONE]),
              ),
        );
      }),
    );
}
