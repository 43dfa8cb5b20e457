// A real OAuth 2.0 authorization server for llmport's tests: oidc-provider (the certified
// OpenID Connect / OAuth 2.0 implementation from npm) with the client-credentials grant,
// token introspection (RFC 7662) and revocation (RFC 7009), on 127.0.0.1 and an ephemeral
// port.
//
// Besides the provider's own endpoints it serves:
//   GET /gateway/check  the resource-server side, for nginx's `auth_request`: introspects the
//                       request's Bearer token at this server's introspection endpoint (a real
//                       RFC 7662 call, authenticated as the `gateway` client) and answers 204
//                       when the token is active and carries the required scope, else 401.
//   GET /stats          {"token_requests": n, "issued": n, "checks": n, "rejected": n}, so that
//                       tests can count token requests, tokens issued and gateway decisions.
//
// Configuration comes from the environment variable LLMPORT_OAUTH_CONFIG (JSON):
//   {"clients": [{"client_id", "client_secret", "auth_method": "client_secret_basic" |
//                 "client_secret_post", "ttl": seconds, "scope": "space separated"}],
//    "gateway": {"client_id", "client_secret"}, "required_scope": "chat"}
// Once listening it prints one line to stdout: {"port": N}.
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.LLMPORT_OAUTH_CONFIG || '{}');
const clients = config.clients || [];
const gateway = config.gateway;
const requiredScope = config.required_scope || '';
const stats = { token_requests: 0, issued: 0, checks: 0, rejected: 0 };

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const ttlByClient = new Map(clients.map((c) => [c.client_id, c.ttl || 600]));
  const provider = new Provider(issuer, {
    clients: [...clients, { ...gateway, auth_method: 'client_secret_basic', scope: '' }].map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      token_endpoint_auth_method: c.auth_method || 'client_secret_basic',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: c.scope || undefined,
    })),
    scopes: ['chat', 'embed', 'admin'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    ttl: {
      ClientCredentials: (ctx, token, client) => ttlByClient.get(client.clientId) || 600,
    },
  });
  provider.on('grant.success', () => {
    stats.issued += 1;
  });
  const callback = provider.callback();
  const basic = (id, secret) =>
    'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

  server.on('request', async (req, res) => {
    if (req.method === 'POST' && req.url === '/token') {
      stats.token_requests += 1;
    }
    if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    if (req.url.startsWith('/gateway/check')) {
      stats.checks += 1;
      const auth = req.headers.authorization || '';
      const match = /^Bearer\s+(\S+)$/i.exec(auth);
      let ok = false;
      if (match) {
        const answer = await fetch(`${issuer}/token/introspection`, {
          method: 'POST',
          headers: {
            authorization: basic(gateway.client_id, gateway.client_secret),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: match[1] }),
        }).then((r) => r.json());
        const scopes = (answer.scope || '').split(' ');
        ok = answer.active === true && (!requiredScope || scopes.includes(requiredScope));
      }
      if (ok) {
        res.writeHead(204);
      } else {
        stats.rejected += 1;
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      res.end();
      return;
    }
    callback(req, res);
  });
  process.stdout.write(JSON.stringify({ port }) + '\n');
});

// End with the parent: the test harness closes stdin when it drops its handle.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
