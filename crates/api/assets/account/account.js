// The gateway's own pages for account links (finish signing up, verify an
// email address, reset a password, join a business), for deployments without an app of their own (TESSERA_APP_URL
// unset). The token is in the URL fragment, which never reaches a server; it is
// read once and removed from the address bar and history.
(function () {
  'use strict';
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  history.replaceState(null, '', location.pathname);
  const action = document.body.dataset.action;
  const status = document.getElementById('status');
  const form = document.getElementById('form');

  function show(text, ok) {
    status.textContent = text;
    status.className = ok ? 'ok' : 'error';
  }

  async function call(query, variables) {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors && body.errors.length) {
      const error = body.errors[0];
      const field = error.extensions && error.extensions.field;
      throw new Error(field ? field + ' ' + error.message : error.message);
    }
    return body.data;
  }

  if (!token) {
    show('This link is incomplete. Open the link from the email again, or ask for a new one.', false);
    return;
  }

  if (action === 'verify-email') {
    call('mutation($token: String!) { verifyEmail(token: $token) }', { token })
      .then(() => show('Your email address is verified. You can close this page.', true))
      .catch((e) => show(e.message, false));
    return;
  }

  if (action === 'complete-sign-up') {
    call('mutation($token: String!) { completeSignUp(token: $token) { user { email } } }', { token })
      .then((data) =>
        show('Your account ' + data.completeSignUp.user.email + ' is ready. Sign in with it in your app.', true),
      )
      .catch((e) => show(e.message, false));
    return;
  }

  if (action === 'accept-invitation') {
    const offerQuery =
      'query($token: String!) { invitationOffer(token: $token) { businessName tenantSlug email roleNames expiresAt status } }';
    call(offerQuery, { token })
      .then((data) => {
        const offer = data.invitationOffer;
        if (offer.status !== 'PENDING') {
          show('This invitation has expired. Ask ' + offer.businessName + ' to send it again.', false);
          return;
        }
        document.getElementById('offer').textContent =
          offer.businessName + ' invites ' + offer.email + ' to join as ' + offer.roleNames.join(', ') + '.';
        form.hidden = false;
        form.elements.email.value = offer.email;
        let pending = null;
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          const password = form.elements.password.value;
          const name = form.elements.name.value.trim();
          const joined = () => {
            form.hidden = true;
            show('You joined ' + offer.businessName + '. Use X-Tenant: ' + offer.tenantSlug + ' in your app.', true);
          };
          if (name) {
            const signUp =
              'mutation($input: SignUpWithInvitationInput!) { signUpWithInvitation(input: $input) { accessToken } }';
            call(signUp, { input: { token, displayName: name, password } }).then(joined).catch((e) => show(e.message, false));
            return;
          }
          const login =
            'mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken secondFactor { challenge } } }';
          const complete =
            'mutation($challenge: String!, $code: String!) { completeLogin(challenge: $challenge, code: $code) { accessToken } }';
          const signIn = pending
            ? call(complete, { challenge: pending, code: form.elements.code.value }).then((d) => d.completeLogin.accessToken)
            : call(login, { email: offer.email, password }).then((d) => {
                if (d.login.accessToken) return d.login.accessToken;
                pending = d.login.secondFactor.challenge;
                form.elements.code.parentElement.hidden = false;
                throw new Error('Enter the code from your authenticator app (or a backup code) and press Join again.');
              });
          signIn
            .then((accessToken) =>
              fetch('/graphql', {
                method: 'POST',
                headers: {
                  'content-type': 'application/json',
                  accept: 'application/graphql-response+json',
                  authorization: 'Bearer ' + accessToken,
                },
                body: JSON.stringify({
                  query: 'mutation($token: String!) { acceptInvitation(token: $token) { status } }',
                  variables: { token },
                }),
              }).then((r) => r.json()),
            )
            .then((body) => {
              if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
              joined();
            })
            .catch((e) => show(e.message, false));
        });
      })
      .catch((e) => show(e.message, false));
    return;
  }

  if (action === 'reset-password') {
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const password = form.elements.password.value;
      if (password !== form.elements.repeat.value) {
        show('The two passwords differ.', false);
        return;
      }
      const mutation =
        'mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }';
      call(mutation, { token, password })
        .then(() => {
          form.hidden = true;
          show('Your password is changed and every session has ended. Sign in with the new password.', true);
        })
        .catch((e) => show(e.message, false));
    });
  }
})();
