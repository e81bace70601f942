// Runs the README's refresh set-ups for Apollo Client and urql against the
// gateway: each client starts with an access token the server no longer takes
// and a refresh token that works, sends three queries at once, and must get all
// three answered after refreshing. The code between the README markers is the
// README's, word for word (a Rust test compares them).
// Usage: node refresh_clients.mjs GRAPHQL_URL ACCESS_TOKEN REFRESH_TOKEN CLIENT
//   CLIENT: apollo | urql
import { gql } from '@apollo/client';

const [url, accessToken, refreshToken, which] = process.argv.slice(2);

// README: session
// Where the app keeps its tokens (here in memory; localStorage works the same).
const session = {
  accessToken,
  refreshToken,
  save(tokens) {
    this.accessToken = tokens.accessToken;
    this.refreshToken = tokens.refreshToken;
  },
  clear() {
    this.accessToken = null;
    this.refreshToken = null;
  },
};
const REFRESH = `mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) { accessToken refreshToken }
}`;
const isUnauthenticated = (errors) => errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
// end README

// README: apollo
// Apollo Client 4: one refresh at a time; each failed operation retries once.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, switchMap } from 'rxjs';

let refreshing = null;
const refreshOnce = () =>
  (refreshing ??= fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: REFRESH, variables: { token: session.refreshToken } }),
  })
    .then((response) => response.json())
    .then((body) => {
      if (!body.data?.refreshSession) {
        session.clear(); // signed out: show the sign-in page
        throw new Error('the session has ended');
      }
      session.save(body.data.refreshSession);
    })
    .finally(() => {
      refreshing = null;
    }));

const apollo = new ApolloClient({
  cache: new InMemoryCache(),
  link: ApolloLink.from([
    new ErrorLink(({ error, operation, forward }) => {
      const expired =
        (CombinedGraphQLErrors.is(error) && isUnauthenticated(error.errors)) ||
        (ServerError.is(error) && error.statusCode === 401);
      if (!expired || operation.getContext().retried) return;
      operation.setContext({ retried: true });
      return from(refreshOnce()).pipe(switchMap(() => forward(operation)));
    }),
    new SetContextLink(({ headers }) => ({
      headers: { ...headers, ...(session.accessToken && { authorization: `Bearer ${session.accessToken}` }) },
    })),
    new HttpLink({ uri: url }),
  ]),
});
// end README

// README: urql
// urql with @urql/exchange-auth: it pauses operations while it refreshes.
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { authExchange } from '@urql/exchange-auth';

const urql = new Client({
  url,
  exchanges: [
    cacheExchange,
    authExchange(async (utils) => ({
      addAuthToOperation: (operation) =>
        session.accessToken
          ? utils.appendHeaders(operation, { authorization: `Bearer ${session.accessToken}` })
          : operation,
      didAuthError: (error) => error.response?.status === 401 || isUnauthenticated(error.graphQLErrors),
      refreshAuth: async () => {
        const result = await utils.mutate(REFRESH, { token: session.refreshToken });
        if (result.data?.refreshSession) session.save(result.data.refreshSession);
        else session.clear(); // signed out: show the sign-in page
      },
    })),
    fetchExchange,
  ],
});
// end README

// Three different operations, so neither client folds them into one request.
async function ask(n) {
  const query = `query Me${n} { me { email } }`;
  if (which === 'apollo') {
    const result = await apollo.query({ query: gql(query), fetchPolicy: 'network-only' });
    return result.data?.me?.email;
  }
  const result = await urql.query(query, {}, { requestPolicy: 'network-only' }).toPromise();
  if (result.error) throw result.error;
  return result.data?.me?.email;
}

try {
  const emails = await Promise.all([1, 2, 3].map(ask));
  console.log(JSON.stringify({ emails, accessToken: session.accessToken }));
  process.exit(emails.every((e) => typeof e === 'string') ? 0 : 1);
} catch (error) {
  console.log(`failed: ${error.message}`);
  process.exit(1);
}
