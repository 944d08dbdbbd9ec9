export const USAGE = `Usage: auth-sidecar [command] [options]

Commands:
  serve                      Start the proxy (default)
  check-config               Validate the config file and exit
  test-config                Run the policy tests of the config file (tests:) and exit
  explain METHOD PATH        Show the canonical path, the rule and the outcome of a request
  user add                   Create a user in the store
  store migrate              Copy a lowdb store into Redis (safe to run again)
  keys generate              Write a new signing key for tokens.keys (PEM, mode 0600)

Options:
  --config PATH              Config file (default: env AUTH_SIDECAR_CONFIG, else config/auth-sidecar.yaml)
  -h, --help                 Show this help
  -v, --version              Print the version

user add options:
  --username NAME            Username (3-64 characters of a-z 0-9 . _ -)
  --role ROLE                Role to grant; repeat for more than one
  --password-stdin           Read the password from standard input

store migrate options:
  --from lowdb:PATH          The store file to copy (read only; a sidecar may be serving from it)
  --to redis://HOST:PORT/DB  The Redis server (default: env REDIS_URL, the only place for a password)
  --key-prefix PREFIX        store.keyPrefix of the sidecars that will use it (default auth-sidecar:)

keys generate options:
  --type ed25519|p256|rsa    Key type: EdDSA, ES256 or RS256 tokens
  --kid KID                  Key id for tokens.keys: 1-64 characters of A-Z a-z 0-9 . _ -
  --out FILE                 The key file to create (never overwritten)
  --bits N                   RSA key size, at least 2048 (default 3072)

explain options:
  --role ROLE                Decide as a user with this role (valid token); repeat for more than one
  --anonymous                Decide without a token (the default when no --role is given)
  --json                     Print the explanation as JSON

Environment:
  JWT_SECRET                 HS256 signing secret, at least 32 bytes (required by serve)
  PORT                       Overrides listen.port
  UPSTREAM_URL               Overrides upstream.url
  REDIS_URL                  Overrides store.url of the redis store; may carry a password
  AUTH_SIDECAR_CONFIG        Config file path when --config is not given
`;
