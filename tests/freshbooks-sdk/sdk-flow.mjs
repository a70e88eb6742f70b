// The official FreshBooks Node SDK (@freshbooks/api) against a running FreshBooks emulator: the whole OAuth flow
// and the API calls the SDK models, asserting what the SDK parsed. Starts nothing itself; run by
// tests/FreshBooks.Emulator.Tests/OfficialSdkTests.cs (part of ./test.sh), or by hand against a standalone emulator:
//
//   FRESHBOOKS_API_URL=http://127.0.0.1:5100 FRESHBOOKS_AUTH_URL=http://127.0.0.1:5100 \
//   FRESHBOOKS_CLIENT_ID=… FRESHBOOKS_CLIENT_SECRET=… FRESHBOOKS_REDIRECT_URI=https://… \
//   EMULATOR_EXPECTED_USER='{"id":…,"firstName":…,"businesses":[…]}' node tests/freshbooks-sdk/sdk-flow.mjs
//
// The SDK reads FRESHBOOKS_API_URL (API and token calls) and FRESHBOOKS_AUTH_URL (authorize page) itself.
// The emulator needs the scopes below registered. Exit code 0 = every check passed. Never prints a whole token.
import assert from 'node:assert/strict';
import sdk from '@freshbooks/api';
import builders from '@freshbooks/api/dist/models/builders/index.js';
import { createRequire } from 'node:module';

const { Client } = sdk;
const { PaginationQueryBuilder } = builders;
const sdkVersion = createRequire(import.meta.url)('@freshbooks/api/package.json').version;
const HEX64 = /^[0-9a-f]{64}$/;
// Token checks that never put a token into an assertion message.
const isToken = (value, what) => assert.ok(typeof value === 'string' && HEX64.test(value), `${what} is 64 lowercase hex characters`);
const SCOPES = ['user:profile:read', 'user:clients:read', 'user:clients:write', 'user:invoices:read', 'user:projects:read', 'user:time_entries:read'];

function setting(name) {
	const value = process.env[name];
	if (!value) {
		throw new Error(`${name} is not set (see the top of ${import.meta.url})`);
	}
	return value;
}

const apiUrl = setting('FRESHBOOKS_API_URL').replace(/\/$/, '');
const authUrl = setting('FRESHBOOKS_AUTH_URL').replace(/\/$/, '');
const clientId = setting('FRESHBOOKS_CLIENT_ID');
const clientSecret = setting('FRESHBOOKS_CLIENT_SECRET');
const redirectUri = setting('FRESHBOOKS_REDIRECT_URI');
const expected = JSON.parse(setting('EMULATOR_EXPECTED_USER'));

let checks = 0;
async function step(name, body) {
	await body();
	checks += 1;
	console.log(`ok ${checks} - ${name}`);
}

/** The emulator's out-of-process control (not part of FreshBooks): approve consent, queue faults, read its logs. */
async function admin(method, path, body) {
	const response = await fetch(`${apiUrl}/_emulator/${path}`, {
		method,
		headers: body ? { 'content-type': 'application/json' } : {},
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await response.text();
	assert.equal(response.status, 200, `${method} /_emulator/${path}: ${text}`);
	return JSON.parse(text);
}

/** An SDK call that must fail with this HTTP status; returns the SDK's APIClientError. */
async function refused(promise, status) {
	let error;
	await assert.rejects(promise, (e) => {
		error = e;
		return true;
	});
	assert.equal(error.statusCode, String(status), `expected HTTP ${status}, got ${error.statusCode}: ${error.message}`);
	return error;
}

const validDate = (value) => value instanceof Date && !Number.isNaN(value.getTime());

try {
	const client = new Client(clientId, { clientSecret, redirectUri });
	const account = expected.businesses.find((b) => b.accountId).accountId;
	const noBooks = expected.businesses.find((b) => !b.accountId);
	let first;
	let second;

	await step('the authorize URL points at the emulator and is approved there', async () => {
		const authorizeUrl = client.getAuthRequestUrl(SCOPES);
		assert.ok(authorizeUrl.startsWith(`${authUrl}/oauth/authorize?`), authorizeUrl);
		const { redirect } = await admin('POST', `approve?url=${encodeURIComponent(authorizeUrl)}`);
		assert.ok(redirect.startsWith(`${redirectUri}?code=`), 'redirect to the registered redirect URI with a code');
		const code = new URL(redirect).searchParams.get('code');
		isToken(code, 'the code');
		const before = Date.now();
		first = await client.getAccessToken(code);
		isToken(first.accessToken, 'the access token');
		isToken(first.refreshToken, 'the refresh token');
		// The SDK computes created_at + expires_in: 12 hours from the exchange.
		const lifetime = first.accessTokenExpiresAt.getTime() - before;
		assert.ok(Math.abs(lifetime - 12 * 3600 * 1000) < 60 * 1000, `access token lives ${lifetime} ms`);
	});

	await step('users.me() parses the full identity, several businesses and a null account_id', async () => {
		const { data: me } = await client.users.me();
		assert.equal(me.id, String(expected.id));
		assert.equal(me.firstName, expected.firstName);
		assert.equal(me.lastName, expected.lastName);
		assert.equal(me.email, expected.email);
		assert.equal(me.phoneNumbers.length, 1);
		assert.deepEqual(me.addresses, []); // FreshBooks sends [null]; the SDK filters it
		assert.equal(me.links.me, `/service/auth/api/v1/users?id=${expected.id}`);
		assert.equal(me.groups.length, expected.businesses.length);
		assert.deepEqual(
			me.businessMemberships.map((m) => ({
				membershipId: m.id,
				role: m.role,
				businessId: m.business.id,
				name: m.business.name,
				accountId: m.business.accountId,
				clients: m.business.businessClients.length,
			})),
			expected.businesses.map((b) => ({
				membershipId: b.membershipId,
				role: b.role,
				businessId: b.businessId,
				name: b.name,
				accountId: b.accountId, // '' for the business without accounting: the SDK maps null to ''
				clients: 0,
			})),
		);
		assert.deepEqual(
			me.roles.map((r) => r.accountId),
			expected.businesses.filter((b) => b.accountId).map((b) => b.accountId),
		);
		assert.ok(me.roles.every((r) => validDate(r.createdAt)));
	});

	await step('clients.list() pages like FreshBooks, after the SDK retried a 429', async () => {
		await admin('POST', 'faults', { api_enqueue: [{ kind: 'TooManyRequests', seconds: 0, endpoint: 'Clients' }] });
		const { data: all } = await client.clients.list(account);
		assert.deepEqual(all.pages, { total: 3, size: 15, pages: 1, page: 1 });
		assert.equal(all.clients.length, 3);
		for (const c of all.clients) {
			assert.equal(typeof c.id, 'number');
			assert.equal(c.userId, c.id);
			assert.equal(c.accountingSystemId, account);
			assert.ok(validDate(c.signupDate) && validDate(c.updated));
			assert.equal(c.vatName, null);
		}
		const { data: page } = await client.clients.list(account, [new PaginationQueryBuilder().page(2).perPage(2)]);
		assert.deepEqual(page.pages, { total: 3, size: 2, pages: 2, page: 2 });
		assert.deepEqual(page.clients.map((c) => c.id), [all.clients[2].id]);
		const calls = await admin('GET', 'calls');
		const limited = calls.filter((c) => c.endpoint === 'Clients' && c.api_fault === 'TooManyRequests');
		assert.equal(limited.length, 1);
		assert.equal(limited[0].status_code, 429);
	});

	await step('clients.create() and clients.single() round-trip; errors arrive in the accounting shape', async () => {
		const { data: created } = await client.clients.create(
			{ fName: 'Mary', lName: 'Somerville', organization: 'Mechanism Ltd.', email: 'mary@example.com', currencyCode: 'GBP', pCity: 'Oxford' },
			account,
		);
		assert.equal(typeof created.id, 'number');
		assert.equal(created.fName, 'Mary');
		assert.equal(created.organization, 'Mechanism Ltd.');
		assert.equal(created.currencyCode, 'GBP');
		assert.equal(created.pCity, 'Oxford');
		assert.equal(created.accountingSystemId, account);
		assert.equal(created.visState, 0);
		const { data: single } = await client.clients.single(account, created.id);
		assert.deepEqual(single, created);
		const { data: after } = await client.clients.list(account);
		assert.equal(after.pages.total, 4);

		const invalid = await refused(client.clients.create({ email: 'not-an-email' }, account), 422);
		assert.equal(invalid.errors[0].errorCode, 1004);
		assert.equal(invalid.errors[0].field, 'email');
		assert.equal(invalid.errors[0].value, 'not-an-email');
		const missing = await refused(client.clients.single(account, 999999), 404);
		assert.equal(missing.message, 'Client not found.');
		assert.equal(missing.errors[0].errorCode, 1012);
	});

	await step('invoices.list() parses money, dates and the customer', async () => {
		const { data } = await client.invoices.list(account);
		assert.equal(data.invoices.length, 2);
		assert.equal(data.pages.total, 2);
		const [invoice] = data.invoices;
		assert.equal(invoice.accountId, account);
		assert.match(invoice.amount.amount, /^\d+\.\d{2}$/);
		assert.ok(validDate(invoice.createDate) && validDate(invoice.dueDate));
		assert.equal(typeof invoice.customerId, 'number');
	});

	if (noBooks) {
		await step('projects and time entries of the business without accounting', async () => {
			const { data: projects } = await client.projects.list(noBooks.businessId);
			assert.equal(projects.projects.length, 1);
			assert.ok(validDate(projects.projects[0].createdAt));
			assert.deepEqual(projects.pages, { total: 1, size: 30, pages: 1, page: 1 });
			const { data: entries } = await client.timeEntries.list(noBooks.businessId);
			assert.equal(entries.timeEntries.length, 2);
			assert.ok(entries.timeEntries.every((e) => validDate(e.startedAt) && e.projectId === projects.projects[0].id));
		});
	}

	await step('refreshAccessToken() rotates the pair, and the new access token works', async () => {
		second = await client.refreshAccessToken(first.refreshToken);
		isToken(second.accessToken, 'the new access token');
		isToken(second.refreshToken, 'the new refresh token');
		assert.ok(second.accessToken !== first.accessToken && second.refreshToken !== first.refreshToken, 'a refresh answers a new pair');
		const { data: me } = await client.users.me(); // the SDK now sends the new token
		assert.equal(me.id, String(expected.id));
	});

	await step('reusing the spent refresh token is refused with 400', async () => {
		await refused(client.refreshAccessToken(first.refreshToken), 400);
	});

	await step('the emulator logged no misuse but the deliberate reuse', async () => {
		const misuses = await admin('GET', 'misuses');
		assert.deepEqual(misuses.map((m) => m.kind), ['ReusedRefreshToken']);
	});

	console.log(`sdk-flow: all ${checks} checks passed with @freshbooks/api ${sdkVersion}`);
} catch (error) {
	console.error(`not ok ${checks + 1} - ${error.stack ?? error}`);
	process.exitCode = 1;
}
