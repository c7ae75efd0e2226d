/**
 * The credential chain the bundles use in place of the SDK's full default chain (the build aliases
 * `@aws-sdk/credential-provider-node` to this file). The full chain pulls in SSO, profile files, web
 * identity and STS clients (about 90 KB minified) that a Lambda or an EC2 instance never uses.
 * Order: environment variables (Lambda, tests), then the container endpoint (ECS), then the EC2
 * instance metadata service (the generator daemon's instance profile).
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";
import { fromContainerMetadata, fromInstanceMetadata } from "@smithy/credential-provider-imds";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/** How early cached credentials are refreshed before they expire. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

export function defaultProvider(init: Record<string, unknown> = {}): AwsCredentialIdentityProvider {
  const sources: AwsCredentialIdentityProvider[] = [fromEnv(init)];
  if (process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    sources.push(fromContainerMetadata(init));
  }
  sources.push(fromInstanceMetadata(init));

  let cached: AwsCredentialIdentity | null = null;
  let pending: Promise<AwsCredentialIdentity> | null = null;
  const resolve = async (): Promise<AwsCredentialIdentity> => {
    const failures: string[] = [];
    for (const source of sources) {
      try {
        return await source();
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    throw new Error(
      `no AWS credentials found (environment, container, instance metadata): ${failures.join("; ")}`,
    );
  };
  return async () => {
    const fresh =
      cached !== null &&
      (cached.expiration === undefined || cached.expiration.getTime() - Date.now() > EXPIRY_MARGIN_MS);
    if (fresh && cached !== null) return cached;
    pending ??= resolve().finally(() => {
      pending = null;
    });
    cached = await pending;
    return cached;
  };
}
