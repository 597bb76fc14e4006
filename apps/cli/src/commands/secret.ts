import { durationFromMs } from "@bufbuild/protobuf/wkt";
import {
  GetEndpointSecretResponseSchema,
  RotateSecretResponseSchema,
  SignatureScheme,
} from "@herald/contracts";
import type { Command } from "commander";
import type { Bind } from "../command.js";
import { formatTime, NONE, renderTable } from "../format.js";
import { parseDuration, parseSignatureScheme } from "../parse.js";

interface SecretOptions {
  tenant: string;
  endpoint: string;
}

interface RotateOptions extends SecretOptions {
  overlap?: number;
  secret?: string;
  signatureScheme?: SignatureScheme;
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
    .option("--secret <whsec_...>", "the new v1 secret; generated when left out")
    .option(
      "--signature-scheme <v1|v1a>",
      "the new secret's scheme (default: the current one); both are signed with during the overlap",
      parseSignatureScheme,
    )
    .action(
      bind<RotateOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.endpoints.rotateSecret({
          tenantId: options.tenant,
          endpointId: options.endpoint,
          secret: options.secret ?? "",
          overlap: options.overlap !== undefined ? durationFromMs(options.overlap) : undefined,
          signatureScheme: options.signatureScheme,
        });
        ctx.output(RotateSecretResponseSchema, res, () => {
          const secrets = res.endpoint?.secrets ?? [];
          return [
            `rotated the signing secret of endpoint ${options.endpoint}`,
            renderTable(
              ["secret id", "scheme", "created", "expires"],
              secrets.map((s) => [
                s.id,
                s.scheme === SignatureScheme.V1A ? "v1a" : "v1",
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
    .description(
      "print an endpoint's valid signing secrets (v1) and public keys (v1a; the private key never leaves Herald), newest first",
    )
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
                ["id", "scheme", "secret or public key", "expires"],
                res.secrets.map((s) => [
                  s.id,
                  s.scheme === SignatureScheme.V1A ? "v1a" : "v1",
                  s.scheme === SignatureScheme.V1A ? s.publicKey : s.secret,
                  s.expireTime ? formatTime(s.expireTime) : NONE,
                ]),
              ),
        );
      }),
    );
}
