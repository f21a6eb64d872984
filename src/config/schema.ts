// The config file format: one TypeBox schema that validates `config.yaml`, types the loaded config and documents every key.
import Type, { type Static } from 'typebox';
import { Duration, Size } from '../schema-kit/units.ts';

const FsyncSchema = Type.Union([Type.Literal('batch'), Type.Literal('always'), Type.Literal('off')], {
  default: 'batch',
  description:
    '`batch`: group commit, one fsync for many requests; `always`: one fsync per event; `off`: no fsync (unsafe on power loss).',
});

/** How the journal and the dead-letter queue flush to disk: the one definition of the fsync modes. */
export type FsyncMode = Static<typeof FsyncSchema>;

const Secret = (description: string) => Type.String({ minLength: 1, description, secret: true });

const ServerSchema = Type.Object(
  {
    host: Type.String({
      default: '0.0.0.0',
      description: 'Address the public ingress listens on (`::` for IPv6 and IPv4).',
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'Ingress port; 0 picks a free port (logged at start).',
    }),
    path: Type.String({
      pattern: '^/',
      default: '/webhook',
      description: 'Path that accepts `POST` webhook deliveries.',
    }),
    maxBodyBytes: Size('1mb', 'Largest accepted request body; larger bodies get 413 before they are buffered.'),
    maxHeaderBytes: Size('16kb', 'Largest accepted total size of request headers; larger requests get 431.'),
    trustProxy: Type.Array(Type.String(), {
      default: [],
      description: 'Proxy addresses or CIDRs whose `X-Forwarded-For` header is trusted for `auth.allowIps`.',
    }),
    maxConnections: Type.Integer({
      minimum: 1,
      default: 10000,
      description: 'Concurrent requests in flight before new ones get 503.',
    }),
    engine: Type.Union([Type.Literal('auto'), Type.Literal('uws'), Type.Literal('node')], {
      default: 'auto',
      description:
        'HTTP engine of the ingress: `uws` (native uWebSockets.js, fastest; needs a binary for this Node and glibc), `node` (node:http / node:https, every Node), or `auto` (uws when its binary loads and `tls` is not set, else node). The choice and its reason are logged at start.',
    }),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({
            minLength: 1,
            description: 'PEM certificate file (with its chain).',
            examples: ['./tls/cert.pem'],
          }),
          key: Type.String({ minLength: 1, description: 'PEM private key file.', examples: ['./tls/key.pem'] }),
        },
        {
          additionalProperties: false,
          description:
            'Serve HTTPS on `port` (Iterable only posts to `https://`). Both files are read again on SIGHUP and when they change; open connections are not dropped. Runs on the node engine.',
        },
      ),
    ),
  },
  { additionalProperties: false, default: {}, description: 'The public ingress listener.' },
);

// Only public-key algorithms are listed: `none` and HMAC (`HS256`, ...) cannot be configured, so a token signed with the
// JWKS's public key as an HMAC secret can never verify.
const JwtAlgorithmSchema = Type.Union(
  [
    Type.Literal('RS256'),
    Type.Literal('RS384'),
    Type.Literal('RS512'),
    Type.Literal('PS256'),
    Type.Literal('PS384'),
    Type.Literal('PS512'),
    Type.Literal('ES256'),
    Type.Literal('ES384'),
    Type.Literal('ES512'),
    Type.Literal('EdDSA'),
  ],
  { description: 'A JWS signature algorithm with a public key.' },
);
const JWT_ALGORITHMS = JwtAlgorithmSchema.anyOf.map((b) => b.const);

const JwtSchema = Type.Object(
  {
    jwksUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Your authorization server's JWKS (signing keys) URL; `https://`, or `http://` to a loopback address only. Set `jwksUrl` or `jwksFile`.",
        examples: ['https://example.okta.com/oauth2/default/v1/keys'],
      }),
    ),
    jwksFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A JWKS JSON file instead of `jwksUrl`; read again when it changes and on SIGHUP.',
        examples: ['./jwks.json'],
      }),
    ),
    issuer: Type.String({
      minLength: 1,
      description: 'Required `iss` of access tokens, exactly as your authorization server writes it.',
      examples: ['https://example.okta.com/oauth2/default'],
    }),
    audience: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'Accepted `aud` value, or a list of them (a token passes when its `aud` names one).',
      examples: ['api://hookroute'],
    }),
    algorithms: Type.Array(JwtAlgorithmSchema, {
      minItems: 1,
      default: ['RS256', 'ES256'],
      description: `Signature algorithms accepted, from ${JWT_ALGORITHMS.map((a) => `\`${a}\``).join(', ')}; \`none\` and HMAC (\`HS256\`, ...) never are.`,
    }),
    clockTolerance: Duration('30s', 'Allowed clock skew when checking `exp`, `nbf` and `iat`.'),
  },
  {
    additionalProperties: false,
    description:
      'Verify JWT access tokens from your own authorization server (Okta, Auth0, Keycloak, Entra ID, ...) by its JWKS: signature by `kid`, `iss`, `aud`, `exp`, `nbf`.',
  },
);

const AuthSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('none'), Type.Literal('basic'), Type.Literal('token'), Type.Literal('oauth2')], {
      default: 'none',
      description: 'How webhook requests authenticate: `none`, `basic`, `token` or `oauth2`.',
    }),
    basic: Type.Optional(
      Type.Object(
        {
          username: Type.String({ description: 'Basic auth user name.', examples: ['iterable'] }),
          password: Secret('Basic auth password (use `${VAR}` or `${file:PATH}`).'),
        },
        { additionalProperties: false, description: 'Credentials for `mode: basic`.' },
      ),
    ),
    token: Type.Optional(
      Type.Object(
        {
          value: Secret('The shared token (use `${VAR}` or `${file:PATH}`).'),
          header: Type.Optional(
            Type.String({
              description:
                'Custom header that carries the token (Iterable "Add HTTP Header"); `Authorization` is always accepted.',
              examples: ['X-Webhook-Token'],
            }),
          ),
        },
        { additionalProperties: false, description: 'Shared token for `mode: token`.' },
      ),
    ),
    oauth2: Type.Optional(
      Type.Object(
        {
          clients: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  id: Type.String({ minLength: 1, description: 'Client id.', examples: ['iterable'] }),
                  secret: Secret('Client secret (use `${VAR}` or `${file:PATH}`).'),
                },
                { additionalProperties: false },
              ),
              {
                minItems: 1,
                description:
                  'Clients allowed to obtain tokens from the built-in `POST /oauth/token`. At least one of `clients` and `jwt` is required.',
              },
            ),
          ),
          tokenTtl: Duration('1h', 'Lifetime of access tokens the built-in endpoint issues.'),
          signingKey: Type.Optional(
            Secret('Key that signs issued tokens; default: random per start (tokens do not survive a restart).'),
          ),
          jwt: Type.Optional(JwtSchema),
        },
        {
          additionalProperties: false,
          description:
            'OAuth 2.0 for `mode: oauth2`: the built-in client-credentials token endpoint (`clients`), JWTs from your own authorization server (`jwt`), or both (a token passes when either verifies it).',
        },
      ),
    ),
    allowIps: Type.Array(Type.String(), {
      default: [],
      description: 'CIDRs (IPv4 or IPv6) allowed to post; empty allows all.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Authentication of webhook requests.' },
);

const ValidationSchema = Type.Object(
  {
    onInvalid: Type.Union([Type.Literal('quarantine'), Type.Literal('reject')], {
      default: 'quarantine',
      description:
        '`quarantine`: accept invalid events and keep them, with their errors, in the dead-letter queue; `reject`: answer 422.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'What happens to events that break their schema.' },
);

const PipelinesSchema = Type.Object(
  {
    dir: Type.String({ default: './pipelines', description: 'Folder of pipeline files (`*.yaml`, `*.yml`).' }),
    watch: Type.Boolean({ default: true, description: 'Reload pipelines when files in `dir` change.' }),
    debounce: Duration('200ms', 'Quiet time after a file change before reloading.'),
    evalTimeout: Duration('100ms', 'Time box for one JSONata evaluation.'),
  },
  { additionalProperties: false, default: {}, description: 'Where pipelines come from.' },
);

const PluginsSchema = Type.Object(
  { dir: Type.String({ default: './plugins', description: 'Folder of sink plugin modules (`.js`, `.mjs`, `.ts`).' }) },
  { additionalProperties: false, default: {}, description: 'Custom sink plugins.' },
);

const StorageSchema = Type.Object(
  {
    dir: Type.String({ default: './data', description: 'Journal and dead-letter queue folder.' }),
    fsync: FsyncSchema,
    maxDiskBytes: Size(
      '10gb',
      'Journal and dead-letter bytes together at which ingress answers 503 (storage_full) until the backlog drains or dead letters are replayed or deleted.',
    ),
    segmentBytes: Size('64mb', 'Size at which the journal starts a new segment file.'),
  },
  { additionalProperties: false, default: {}, description: 'Durable storage.' },
);

const AdminSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Run the admin listener.' }),
    host: Type.String({ default: '127.0.0.1', description: 'Admin listener address (keep it private).' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 9090,
      description: 'Admin listener port; 0 picks a free port.',
    }),
    token: Type.Optional(
      Secret('Bearer token required on admin requests other than the `/healthz` and `/readyz` probes.'),
    ),
  },
  { additionalProperties: false, default: {}, description: 'Health, metrics, pipelines and reload.' },
);

const LogSchema = Type.Object(
  {
    level: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      {
        default: 'info',
        description: 'Lowest level written.',
      },
    ),
    format: Type.Union([Type.Literal('json'), Type.Literal('pretty')], {
      default: 'json',
      description: '`json` lines or `pretty` for humans.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Logging (to stderr).' },
);

const ShutdownSchema = Type.Object(
  {
    grace: Duration(
      '10s',
      'How long queues may keep delivering after SIGTERM before the daemon exits; the rest resumes at the next start.',
    ),
  },
  { additionalProperties: false, default: {}, description: 'Graceful shutdown.' },
);

export const ConfigSchema = Type.Object(
  {
    server: ServerSchema,
    auth: AuthSchema,
    validation: ValidationSchema,
    pipelines: PipelinesSchema,
    plugins: PluginsSchema,
    storage: StorageSchema,
    admin: AdminSchema,
    log: LogSchema,
    shutdown: ShutdownSchema,
  },
  { additionalProperties: false, description: 'hookroute configuration. Every key is optional.' },
);

/** The config as written in YAML (after `${VAR}` interpolation and defaults). */
export type ConfigInput = Static<typeof ConfigSchema>;

type Input = ConfigInput;

/**
 * The config after loading: sizes in bytes, durations in milliseconds, paths absolute. Derived from the schema's type:
 * sections taken as written are the schema's own, and only the converted keys are spelled out here.
 */
export interface Config {
  /** Absolute path of the config file, or undefined for built-in defaults. */
  file: string | undefined;
  /** Folder relative paths were resolved against. */
  baseDir: string;
  server: Omit<Input['server'], 'maxBodyBytes' | 'maxHeaderBytes'> & { maxBodyBytes: number; maxHeaderBytes: number };
  auth: Omit<Input['auth'], 'oauth2'> & {
    oauth2?: Omit<OAuth2Input, 'tokenTtl' | 'clients' | 'jwt'> & {
      tokenTtlMs: number;
      /** Empty when only `jwt` is configured (then there is no token endpoint). */
      clients: NonNullable<OAuth2Input['clients']>;
      jwt?: JwtConfig;
    };
  };
  validation: Input['validation'];
  pipelines: Pick<Input['pipelines'], 'dir' | 'watch'> & { debounceMs: number; evalTimeoutMs: number };
  plugins: Input['plugins'];
  storage: Pick<Input['storage'], 'dir' | 'fsync'> & { maxDiskBytes: number; segmentBytes: number };
  admin: Input['admin'];
  log: Input['log'];
  shutdown: { graceMs: number };
}

type OAuth2Input = NonNullable<Input['auth']['oauth2']>;

/** `auth.oauth2.jwt` after loading: exactly one of `jwksUrl` and `jwksFile` (absolute), `audience` always a list. */
export type JwtConfig = Omit<NonNullable<OAuth2Input['jwt']>, 'audience' | 'clockTolerance'> & {
  audience: string[];
  clockToleranceMs: number;
};
