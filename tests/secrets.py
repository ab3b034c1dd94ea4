"""Test values for every stack secret. Distinctive, so a test can prove none of them leaks."""

TEST_SECRETS = {
    "maya-infra:jwtSecretKey": "test-jwt-secret-4f1c9e2a",
    "maya-infra:encryptionKey": "test-encryption-key-7b3d5a91",
    "maya-infra:anthropicApiKey": "test-anthropic-key-c2e8d410",
    "maya-infra:stripeApiKey": "test-stripe-key-9a0f6b3e",
    "maya-infra:twilioAccountSid": "test-twilio-sid-5d7e2c18",
    "maya-infra:twilioAuthToken": "test-twilio-token-1e4a8f6c",
    "maya-infra:railwayToken": "test-railway-token-8c2b7d05",
    "maya-infra:vercelToken": "test-vercel-token-3f9a1e7b24c6d8e0a2b4c6d8",
    "maya-infra:vercelDeployToken": "test-vercel-deploy-token-project-only-5e1b",
    "maya-infra:snykToken": "test-snyk-token-0b5e3a7d",
    "maya-infra:safetyApiKey": "test-safety-key-4d8b2f90",
    "maya-infra:previewsRailwayToken": "test-previews-railway-token-3b7e",
    "maya-infra:smtpUrl": "smtps://alerts:test-smtp-password-6e1d9b3a@smtp.example.com:465",
}
#: Production's GitHub write token: only production's stack may hold it (docs/trust.md; staging's config refuses it).
TEST_GITHUB_TOKEN = "test-github-token-6a2d9c4e"
TEST_PRODUCTION_SECRETS = {"maya-infra:githubToken": TEST_GITHUB_TOKEN}
#: The Checkly account: production's config requires it (its 30-second health check mails the on-call).
TEST_CHECKLY_SECRETS = {
    "maya-infra:checklyApiKey": "test-checkly-api-key-5e8c1a3f",
    "maya-infra:checklyAccountId": "test-checkly-account-9d2b7e41",
}
EXTERNAL_DATABASE_URL = "postgresql://maya:test-db-password-2c7f@db.example.com:5432/maya"


def stack_secrets(stack: str) -> dict[str, str]:
    """Every secret a stack holds in the tests: production adds the GitHub write token."""
    return {**TEST_SECRETS, **(TEST_PRODUCTION_SECRETS if stack == "production" else {})}
