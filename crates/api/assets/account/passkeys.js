// The gateway's own passkey page (/passkeys): sign in (password, then a second
// factor if the account has one, or a passkey alone), see your passkeys and add
// one. Options and answers travel in the WebAuthn JSON form; the conversions
// below do by hand what PublicKeyCredential.parse*FromJSON and toJSON do in the
// newest browsers. The session's token lives in this page's memory only.
(function () {
  'use strict';
  const status = document.getElementById('status');
  const signInForm = document.getElementById('signin');
  const account = document.getElementById('account');
  const addForm = document.getElementById('add');
  let accessToken = null;
  let pendingChallenge = null;

  function show(text, ok) {
    status.textContent = text;
    status.className = ok ? 'ok' : 'error';
  }

  async function call(query, variables) {
    const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
    if (accessToken) headers.authorization = 'Bearer ' + accessToken;
    const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = await response.json();
    if (body.errors && body.errors.length) {
      const error = body.errors[0];
      const field = error.extensions && error.extensions.field;
      throw new Error(field ? field + ' ' + error.message : error.message);
    }
    return body.data;
  }

  function fromBase64Url(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  }

  function toBase64Url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: fromBase64Url(c.id) }));
  }

  // A credential as PublicKeyCredential.toJSON() gives it, with `response`.
  function answer(credential, response) {
    return {
      id: credential.id,
      rawId: toBase64Url(credential.rawId),
      type: credential.type,
      response,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function create(options) {
    const o = options.publicKey;
    const publicKey = Object.assign({}, o, {
      challenge: fromBase64Url(o.challenge),
      user: Object.assign({}, o.user, { id: fromBase64Url(o.user.id) }),
      excludeCredentials: withIds(o.excludeCredentials),
    });
    const credential = await navigator.credentials.create({ publicKey });
    const response = credential.response;
    return answer(credential, {
      clientDataJSON: toBase64Url(response.clientDataJSON),
      attestationObject: toBase64Url(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : [],
    });
  }

  async function get(options) {
    const o = options.publicKey;
    const publicKey = Object.assign({}, o, {
      challenge: fromBase64Url(o.challenge),
      allowCredentials: withIds(o.allowCredentials),
    });
    const credential = await navigator.credentials.get({ publicKey });
    const response = credential.response;
    return answer(credential, {
      clientDataJSON: toBase64Url(response.clientDataJSON),
      authenticatorData: toBase64Url(response.authenticatorData),
      signature: toBase64Url(response.signature),
      userHandle: response.userHandle ? toBase64Url(response.userHandle) : null,
    });
  }

  async function signedIn(token) {
    accessToken = token;
    pendingChallenge = null;
    signInForm.hidden = true;
    account.hidden = false;
    const data = await call('{ me { email } myPasskeys { name createdAt lastUsedAt possiblyCloned } }', {});
    document.getElementById('who').textContent = 'Signed in as ' + data.me.email + '.';
    const list = document.getElementById('list');
    list.textContent = '';
    for (const passkey of data.myPasskeys) {
      const item = document.createElement('li');
      const used = passkey.lastUsedAt ? 'last used ' + passkey.lastUsedAt.slice(0, 10) : 'not used yet';
      item.textContent =
        passkey.name + ' (added ' + passkey.createdAt.slice(0, 10) + ', ' + used + ')' +
        (passkey.possiblyCloned ? ' — may have been copied: remove it' : '');
      list.appendChild(item);
    }
    if (!data.myPasskeys.length) list.textContent = 'No passkeys yet.';
  }

  const completeWithPasskey =
    'mutation($challenge: String!, $credential: JSON!) { completeLoginWithPasskey(challenge: $challenge, credential: $credential) { accessToken } }';
  const completeWithCode =
    'mutation($challenge: String!, $code: String!) { completeLogin(challenge: $challenge, code: $code) { accessToken } }';
  const login =
    'mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken secondFactor { challenge methods passkeyOptions } } }';

  signInForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      if (pendingChallenge) {
        const data = await call(completeWithCode, { challenge: pendingChallenge, code: signInForm.elements.code.value });
        await signedIn(data.completeLogin.accessToken);
        return;
      }
      const data = await call(login, { email: signInForm.elements.email.value, password: signInForm.elements.password.value });
      if (data.login.accessToken) {
        await signedIn(data.login.accessToken);
        return;
      }
      const second = data.login.secondFactor;
      pendingChallenge = second.challenge;
      if (second.passkeyOptions) {
        try {
          const credential = await get(second.passkeyOptions);
          const done = await call(completeWithPasskey, { challenge: second.challenge, credential });
          await signedIn(done.completeLoginWithPasskey.accessToken);
          return;
        } catch (e) {
          show('The passkey did not work (' + e.message + '); use a code instead.', false);
        }
      }
      if (second.methods.includes('TOTP') || second.methods.includes('BACKUP_CODE')) {
        document.getElementById('code-label').hidden = false;
        if (!second.passkeyOptions) show('Enter a code from your authenticator app or a backup code.', true);
      }
    } catch (e) {
      show(e.message, false);
    }
  });

  document.getElementById('with-passkey').addEventListener('click', async () => {
    try {
      const start = await call(
        'mutation($email: String!) { startPasskeyLogin(email: $email) { ceremony options } }',
        { email: signInForm.elements.email.value },
      );
      const credential = await get(start.startPasskeyLogin.options);
      const done = await call(
        'mutation($ceremony: String!, $credential: JSON!) { finishPasskeyLogin(ceremony: $ceremony, credential: $credential) { accessToken } }',
        { ceremony: start.startPasskeyLogin.ceremony, credential },
      );
      await signedIn(done.finishPasskeyLogin.accessToken);
      show('Signed in with your passkey.', true);
    } catch (e) {
      show(e.message, false);
    }
  });

  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const start = await call(
        'mutation($name: String!, $password: String!) { startPasskeyRegistration(name: $name, password: $password) { ceremony options } }',
        { name: addForm.elements.name.value, password: addForm.elements.password.value },
      );
      const credential = await create(start.startPasskeyRegistration.options);
      const done = await call(
        'mutation($ceremony: String!, $credential: JSON!) { finishPasskeyRegistration(ceremony: $ceremony, credential: $credential) { passkey { name } backupCodes } }',
        { ceremony: start.startPasskeyRegistration.ceremony, credential },
      );
      addForm.elements.password.value = '';
      const added = done.finishPasskeyRegistration;
      const codes = document.getElementById('codes');
      if (added.backupCodes.length) {
        codes.hidden = false;
        codes.textContent =
          'Backup codes, each usable once if you lose your passkey (shown only now):\n' + added.backupCodes.join('\n');
      }
      await signedIn(accessToken);
      show('Passkey "' + added.passkey.name + '" added.', true);
    } catch (e) {
      show(e.message, false);
    }
  });
})();
