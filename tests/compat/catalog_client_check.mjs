// Drives the official @backstage/catalog-client against a running goldpath server and checks
// every public method of CatalogClient: the request it sends and the shape and values it
// gets back. One line per check; the first failure exits 1 with the reason.
//
//   node catalog_client_check.mjs <goldpath base URL> <catalog file> [--keep-going]
//
// The catalog file is the one tests/test_catalog_client_compat.py writes (keep the two in
// step): catalog-info.yaml holding a Location `finance-catalog` (targets ./org.yaml with the
// Group `team-money`), the System `finance`, the Components `ledger` and `invoices` and the
// API `ledger-api`. The server must start with an empty catalog and may read files under the
// catalog file's directory; this script appends to the file and writes a copy next to it.
// --keep-going runs every check and exits 1 at the end if any failed (later checks may then
// fail only because an earlier one did).

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CATALOG_FILTER_EXISTS, CatalogClient } from '@backstage/catalog-client';

const args = process.argv.slice(2).filter(a => !a.startsWith('--'));
const keepGoing = process.argv.includes('--keep-going');
if (args.length !== 2) {
  console.error('usage: node catalog_client_check.mjs <base-url> <catalog-file> [--keep-going]');
  process.exit(2);
}
const base = args[0].replace(/\/+$/, '');
const catalogFile = fs.realpathSync(args[1]);
const catalogDir = path.dirname(catalogFile);
const movedFile = path.join(catalogDir, 'catalog-info.moved.yaml');
const require = createRequire(import.meta.url);
const clientVersion = require('@backstage/catalog-client/package.json').version;

const discoveryApi = { getBaseUrl: async () => `${base}/api/catalog` };
// Exactly as a Backstage backend or script builds it: the client's own cross-fetch.
const client = new CatalogClient({ discoveryApi });

// ------------------------------------------------------------------ expected data
const generatedName = `generated-${createHash('sha1')
  .update(`file:${catalogFile}`)
  .digest('hex')}`;
const GENERATED = `location:default/${generatedName}`;
const LEDGER = 'component:default/ledger';
const INVOICES = 'component:default/invoices';
const API = 'api:default/ledger-api';
const SYSTEM = 'system:default/finance';
const GROUP = 'group:default/team-money';
const LOCATION_ENTITY = 'location:default/finance-catalog';
const PAYROLL = 'component:default/payroll';
const GHOST = 'component:default/ghost';
const ALL_REFS = [API, INVOICES, LEDGER, GROUP, LOCATION_ENTITY, GENERATED, SYSTEM];
// kind in (component, api, system, group), by metadata.name
const FIVE_BY_NAME = ['finance', 'invoices', 'ledger', 'ledger-api', 'team-money'];
const FIVE_KINDS = { kind: ['component', 'api', 'system', 'group'] };
const LOCATION_REF = `file:${catalogFile}`;
const URL_LOCATION_REF = 'url:https://example.com/finance/catalog-info.yaml';

// ------------------------------------------------------------------ helpers
let failures = 0;
let passed = 0;

function describe(err) {
  if (err?.name === 'ResponseError') {
    const res = err.response ?? {};
    return [
      `${err.message} (${res.url ?? '?'})`,
      `cause: ${err.cause?.name}: ${String(err.cause?.message).slice(0, 600)}`,
    ].join('\n');
  }
  return err?.stack ?? String(err);
}

// Checks goldpath is known to fail (with the reason in a comment). They still run: a gap
// that starts passing fails the run, so this list stays honest. Empty: every check passes.
const KNOWN_GAPS = new Set([]);

async function check(name, fn) {
  if (KNOWN_GAPS.has(name)) {
    try {
      await fn();
    } catch (err) {
      console.log(`gap  ${name}: ${describe(err).split('\n')[0].slice(0, 200)}`);
      return;
    }
    failures += 1;
    console.log(`FAIL ${name}: passes now; remove it from KNOWN_GAPS`);
    if (!keepGoing) process.exit(1);
    return;
  }
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL ${name}`);
    console.log(
      describe(err)
        .split('\n')
        .map(line => `     ${line}`)
        .join('\n'),
    );
    if (!keepGoing) {
      console.error(
        `\n@backstage/catalog-client ${clientVersion} check failed: ${name}\n` +
          `${describe(err).split('\n')[0]}`,
      );
      process.exit(1);
    }
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function eventually(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
        (last ? `; last error: ${describe(last)}` : ''));
    }
    await sleep(100);
  }
}

const ref = e => `${e.kind.toLowerCase()}:${(e.metadata.namespace ?? 'default').toLowerCase()}/${e.metadata.name}`;
const refs = items => items.map(e => (e ? ref(e) : undefined));
const names = items => items.map(e => e.metadata.name);
const byValue = facet => [...facet].sort((a, b) => a.value.localeCompare(b.value));

// A rejected call must be the client's ResponseError carrying the server's status, and the
// deserialised Backstage error (err.cause) must keep the server's error name.
async function expectResponseError(promise, status, errorName) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected the call to reject with HTTP ${status}, but it resolved`);
  assert.equal(err.name, 'ResponseError', `expected a ResponseError, got ${describe(err)}`);
  assert.equal(err.statusCode, status, `expected HTTP ${status}, got ${describe(err)}`);
  assert.equal(
    err.cause?.name,
    errorName,
    `the client did not deserialise the error body (content-type ` +
      `${err.response?.headers?.get?.('content-type')}): cause is ` +
      `${err.cause?.name}: ${String(err.cause?.message).slice(0, 300)}`,
  );
  return err;
}

function assertLocation(location, { id, target = catalogFile } = {}) {
  assert.equal(typeof location, 'object');
  assert.equal(typeof location.id, 'string');
  assert.ok(location.id.length > 0);
  if (id) assert.equal(location.id, id);
  assert.equal(location.type, 'file');
  assert.equal(location.target, target);
  // Required since catalog-client 1.16 ("BREAKING PRODUCERS": Location.entityRef).
  assert.equal(location.entityRef, GENERATED, 'Location.entityRef');
}

function assertEntityEnvelope(entity, expectedRef) {
  assert.ok(entity, `${expectedRef} missing`);
  assert.equal(ref(entity), expectedRef);
  assert.match(entity.apiVersion, /^backstage\.io\/v1(alpha|beta)1$/);
  assert.equal(entity.metadata.namespace, 'default');
  assert.equal(typeof entity.metadata.uid, 'string');
  assert.equal(typeof entity.metadata.etag, 'string');
  assert.ok(Array.isArray(entity.relations), 'relations is an array');
}

function hasRelation(entity, type, targetRef) {
  return (entity.relations ?? []).some(r => r.type === type && r.targetRef === targetRef);
}

// ================================================================== locations
console.log(`@backstage/catalog-client ${clientVersion} against ${base}`);
let location;

await check('getLocations: an empty catalog has no locations', async () => {
  const res = await client.getLocations();
  assert.deepEqual(res, { items: [] });
});

await check('addLocation dryRun: 201 with the entities it would add, nothing registered', async () => {
  const res = await client.addLocation({ type: 'file', target: catalogFile, dryRun: true });
  assert.equal(res.location.type, 'file');
  assert.equal(res.location.target, catalogFile);
  assert.equal(res.exists, false);
  assert.ok(Array.isArray(res.entities));
  const got = refs(res.entities);
  for (const r of ALL_REFS) assert.ok(got.includes(r), `dry run lacks ${r}: ${got}`);
  assert.deepEqual((await client.getLocations()).items, []);
});

await check('addLocation: 201 with the registered location', async () => {
  const res = await client.addLocation({ type: 'file', target: catalogFile });
  location = res.location;
  assertLocation(res.location);
  assert.deepEqual(res.entities, []);
});

await check('addLocation: registering it again is a 409 ConflictError', async () => {
  await expectResponseError(
    client.addLocation({ type: 'file', target: catalogFile }),
    409,
    'ConflictError',
  );
});

await check("addLocation onConflict 'refresh': 201 with the existing location", async () => {
  const res = await client.addLocation({
    type: 'file',
    target: catalogFile,
    onConflict: 'refresh',
  });
  assertLocation(res.location, { id: location?.id });
});

await check('addLocation dryRun of a registered location: exists is true', async () => {
  const res = await client.addLocation({ type: 'file', target: catalogFile, dryRun: true });
  assert.equal(res.exists, true);
  assert.ok(refs(res.entities).includes(LEDGER));
});

await check('getLocations: { items: [location] } (unwrapped from { data })', async () => {
  const res = await client.getLocations();
  assert.equal(res.items.length, 1);
  assertLocation(res.items[0], { id: location?.id });
});

await check('getLocationById: the location; an unknown id is undefined', async () => {
  assertLocation(await client.getLocationById(location.id), { id: location.id });
  assert.equal(await client.getLocationById(randomUUID()), undefined);
});

await check('getLocationByRef: matches `${type}:${target}`; unknown ref is undefined', async () => {
  assertLocation(await client.getLocationByRef(LOCATION_REF), { id: location.id });
  assert.equal(await client.getLocationByRef('file:/no/such/catalog-info.yaml'), undefined);
});

await check('queryLocations: filtered page with totalItems and pageInfo', async () => {
  const res = await client.queryLocations({ limit: 10, query: { type: 'file' } });
  assert.equal(res.totalItems, 1);
  assert.equal(res.items.length, 1);
  assertLocation(res.items[0], { id: location.id });
  assert.equal(typeof res.pageInfo, 'object');
  assert.equal(res.pageInfo.nextCursor, undefined);
  const none = await client.queryLocations({ query: { type: 'url' } });
  assert.deepEqual([none.items, none.totalItems], [[], 0]);
});

await check('streamLocations: yields the location', async () => {
  const pages = [];
  for await (const page of client.streamLocations({ query: { type: 'file' } })) pages.push(page);
  assert.deepEqual(pages.flat().map(l => l.id), [location.id]);
});

// ================================================================== processing
await check('processing: every entity is served (polling getEntityByRef)', async () => {
  for (const r of ALL_REFS) {
    await eventually(`${r} to be processed`, () => client.getEntityByRef(r));
  }
});

// ================================================================== single entities
let ledger;

await check('getEntityByRef: a full entity with metadata, relations and annotations', async () => {
  ledger = await client.getEntityByRef(LEDGER);
  assertEntityEnvelope(ledger, LEDGER);
  assert.equal(ledger.metadata.description, 'Keeps the books');
  assert.deepEqual(ledger.spec, {
    type: 'service',
    lifecycle: 'production',
    owner: 'team-money',
    system: 'finance',
    providesApis: ['ledger-api'],
  });
  const annotations = ledger.metadata.annotations;
  assert.equal(annotations['backstage.io/managed-by-location'], LOCATION_REF);
  assert.equal(annotations['backstage.io/managed-by-origin-location'], LOCATION_REF);
  assert.ok(hasRelation(ledger, 'ownedBy', GROUP), 'ownedBy relation');
  assert.ok(hasRelation(ledger, 'partOf', SYSTEM), 'partOf relation');
  assert.ok(hasRelation(ledger, 'providesApi', API), 'providesApi relation');
  const group = await client.getEntityByRef(GROUP);
  assertEntityEnvelope(group, GROUP);
  assert.ok(hasRelation(group, 'ownerOf', LEDGER), 'ownerOf relation');
  assert.equal(
    group.metadata.annotations['backstage.io/managed-by-location'],
    `file:${path.join(catalogDir, 'org.yaml')}`,
  );
  assert.equal(group.metadata.annotations['backstage.io/managed-by-origin-location'], LOCATION_REF);
});

await check('getEntityByRef: compound and short refs; a missing entity is undefined', async () => {
  const compound = await client.getEntityByRef({
    kind: 'Component',
    namespace: 'default',
    name: 'ledger',
  });
  assert.equal(compound?.metadata.uid, ledger.metadata.uid);
  assert.equal((await client.getEntityByRef('component:ledger'))?.metadata.uid, ledger.metadata.uid);
  assert.equal(await client.getEntityByRef(GHOST), undefined);
});

await check('getEntityByName (deprecated): same entity; missing is undefined', async () => {
  const e = await client.getEntityByName({ kind: 'Component', namespace: 'default', name: 'ledger' });
  assert.equal(e?.metadata.uid, ledger.metadata.uid);
  assert.equal(await client.getEntityByName({ kind: 'Component', name: 'ghost' }), undefined);
});

await check('getLocationByEntity: the registered (origin) location; missing is undefined', async () => {
  assertLocation(await client.getLocationByEntity(LEDGER), { id: location.id });
  assertLocation(await client.getLocationByEntity(GROUP), { id: location.id });
  assertLocation(
    await client.getLocationByEntity({ kind: 'Component', namespace: 'default', name: 'ledger' }),
    { id: location.id },
  );
  assert.equal(await client.getLocationByEntity(GHOST), undefined);
});

// ================================================================== getEntities
await check('getEntities: everything', async () => {
  const res = await client.getEntities();
  assert.deepEqual(Object.keys(res), ['items']);
  assert.deepEqual(refs(res.items).sort(), [...ALL_REFS].sort());
});

await check('getEntities filter: one set, key OR values, several sets, EXISTS, relations, tags', async () => {
  const q = async filter => refs((await client.getEntities({ filter })).items).sort();
  assert.deepEqual(await q({ kind: 'component' }), [INVOICES, LEDGER]);
  assert.deepEqual(await q({ kind: 'Component', 'spec.type': 'SERVICE' }), [LEDGER]);
  assert.deepEqual(await q({ kind: ['API', 'group'] }), [API, GROUP]);
  assert.deepEqual(await q([{ kind: 'api' }, { kind: 'system' }]), [API, SYSTEM]);
  assert.deepEqual(
    await q({ kind: 'component', 'spec.providesApis': CATALOG_FILTER_EXISTS }),
    [LEDGER],
  );
  assert.deepEqual(await q({ 'relations.ownedBy': GROUP }), [API, INVOICES, LEDGER, SYSTEM]);
  assert.deepEqual(await q({ 'metadata.tags': 'accounting' }), [LEDGER]);
  assert.deepEqual(await q({ kind: 'component', 'metadata.name': 'ghost' }), []);
});

await check('getEntities fields: only the selected paths', async () => {
  const res = await client.getEntities({
    filter: { kind: 'component' },
    fields: ['kind', 'metadata.name', 'spec.owner'],
  });
  const sorted = [...res.items].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  assert.deepEqual(sorted, [
    { kind: 'Component', metadata: { name: 'invoices' }, spec: { owner: 'team-money' } },
    { kind: 'Component', metadata: { name: 'ledger' }, spec: { owner: 'team-money' } },
  ]);
});

await check('getEntities order: one and several directives', async () => {
  const asc = await client.getEntities({
    filter: { kind: 'component' },
    order: { field: 'metadata.name', order: 'asc' },
  });
  assert.deepEqual(names(asc.items), ['invoices', 'ledger']);
  const desc = await client.getEntities({
    filter: { kind: 'component' },
    order: { field: 'metadata.name', order: 'desc' },
  });
  assert.deepEqual(names(desc.items), ['ledger', 'invoices']);
  const multi = await client.getEntities({
    order: [
      { field: 'kind', order: 'asc' },
      { field: 'metadata.name', order: 'desc' },
    ],
  });
  assert.deepEqual(refs(multi.items), [
    API,
    LEDGER,
    INVOICES,
    GROUP,
    GENERATED,
    LOCATION_ENTITY,
    SYSTEM,
  ]);
});

await check('getEntities offset/limit/after', async () => {
  const allByName = ['finance', 'finance-catalog', generatedName, 'invoices', 'ledger', 'ledger-api', 'team-money'];
  const order = { field: 'metadata.name', order: 'asc' };
  const page = await client.getEntities({ order, offset: 1, limit: 3 });
  assert.deepEqual(names(page.items), allByName.slice(1, 4));
  assert.deepEqual(names((await client.getEntities({ order, limit: 2 })).items), allByName.slice(0, 2));
  assert.deepEqual(names((await client.getEntities({ order, offset: 6, limit: 5 })).items), ['team-money']);
  // `after` is the opaque cursor of the Link header; Backstage's is base64 of {limit, offset}.
  const after = Buffer.from(JSON.stringify({ limit: 2, offset: 4 })).toString('base64');
  assert.deepEqual(names((await client.getEntities({ order, after })).items), allByName.slice(4, 6));
});

// ================================================================== getEntitiesByRefs
await check('getEntitiesByRefs: request order, undefined for missing', async () => {
  const res = await client.getEntitiesByRefs({ entityRefs: [LEDGER, GHOST, GROUP, LEDGER] });
  assert.deepEqual(Object.keys(res), ['items']);
  assert.equal(res.items.length, 4);
  assert.deepEqual(refs(res.items), [LEDGER, undefined, GROUP, LEDGER]);
  assert.equal(res.items[1], undefined);
  assert.equal(res.items[0].metadata.uid, ledger.metadata.uid);
  assert.deepEqual(await client.getEntitiesByRefs({ entityRefs: [] }), { items: [] });
});

await check('getEntitiesByRefs: fields and filter', async () => {
  const fields = await client.getEntitiesByRefs({
    entityRefs: [LEDGER, GHOST, GROUP],
    fields: ['metadata.name'],
  });
  assert.deepEqual(fields.items, [
    { metadata: { name: 'ledger' } },
    undefined,
    { metadata: { name: 'team-money' } },
  ]);
  const filtered = await client.getEntitiesByRefs({
    entityRefs: [LEDGER, GROUP, INVOICES],
    filter: { kind: 'component' },
  });
  assert.deepEqual(refs(filtered.items), [LEDGER, undefined, INVOICES]);
});

await check('getEntitiesByRefs: predicate query (body.query)', async () => {
  const res = await client.getEntitiesByRefs({
    entityRefs: [LEDGER, GROUP, INVOICES],
    query: { 'spec.type': { $in: ['service', 'team'] } },
  });
  assert.deepEqual(refs(res.items), [LEDGER, GROUP, undefined]);
});

// ================================================================== queryEntities
await check('queryEntities: filter, orderFields, fields, limit, then nextCursor/prevCursor', async () => {
  const fields = ['kind', 'metadata.name'];
  const first = await client.queryEntities({
    filter: FIVE_KINDS,
    orderFields: { field: 'metadata.name', order: 'asc' },
    fields,
    limit: 2,
  });
  assert.deepEqual(Object.keys(first).sort(), ['items', 'pageInfo', 'totalItems']);
  assert.equal(first.totalItems, 5);
  assert.deepEqual(names(first.items), FIVE_BY_NAME.slice(0, 2));
  assert.deepEqual(Object.keys(first.items[0]).sort(), ['kind', 'metadata']);
  assert.equal(typeof first.pageInfo.nextCursor, 'string');
  assert.equal(first.pageInfo.prevCursor, undefined);

  const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 2, fields });
  assert.equal(second.totalItems, 5);
  assert.deepEqual(names(second.items), FIVE_BY_NAME.slice(2, 4));
  assert.equal(typeof second.pageInfo.nextCursor, 'string');
  assert.equal(typeof second.pageInfo.prevCursor, 'string');

  const third = await client.queryEntities({ cursor: second.pageInfo.nextCursor, limit: 2, fields });
  assert.equal(third.totalItems, 5);
  assert.deepEqual(names(third.items), FIVE_BY_NAME.slice(4));
  assert.equal(third.pageInfo.nextCursor, undefined);
  assert.equal(typeof third.pageInfo.prevCursor, 'string');

  const back = await client.queryEntities({ cursor: third.pageInfo.prevCursor, limit: 2, fields });
  assert.deepEqual(names(back.items), FIVE_BY_NAME.slice(2, 4));
  assert.equal(back.totalItems, 5);
  assert.equal(typeof back.pageInfo.nextCursor, 'string');
  assert.equal(typeof back.pageInfo.prevCursor, 'string');

  const start = await client.queryEntities({ cursor: back.pageInfo.prevCursor, limit: 2, fields });
  assert.deepEqual(names(start.items), FIVE_BY_NAME.slice(0, 2));
  assert.equal(start.pageInfo.prevCursor, undefined, 'the first page has no prevCursor');
  assert.equal(typeof start.pageInfo.nextCursor, 'string');
});

await check('queryEntities: descending order and offset', async () => {
  const desc = await client.queryEntities({
    filter: FIVE_KINDS,
    orderFields: [{ field: 'metadata.name', order: 'desc' }],
    limit: 3,
  });
  assert.deepEqual(names(desc.items), [...FIVE_BY_NAME].reverse().slice(0, 3));
  assert.equal(desc.totalItems, 5);
  const offset = await client.queryEntities({
    filter: { kind: 'component' },
    orderFields: { field: 'metadata.name', order: 'asc' },
    offset: 1,
    limit: 5,
  });
  assert.deepEqual(names(offset.items), ['ledger']);
  assert.equal(offset.totalItems, 2);
});

await check('queryEntities: fullTextFilter with and without fields', async () => {
  const withFields = await client.queryEntities({
    fullTextFilter: { term: ' LEDGER ', fields: ['metadata.name'] },
    orderFields: { field: 'metadata.name', order: 'asc' },
  });
  assert.deepEqual(refs(withFields.items), [LEDGER, API]);
  assert.equal(withFields.totalItems, 2);
  // Without fields Backstage searches the sort field.
  const onSortField = await client.queryEntities({
    fullTextFilter: { term: 'invo' },
    orderFields: { field: 'metadata.name', order: 'asc' },
  });
  assert.deepEqual(refs(onSortField.items), [INVOICES]);
  const described = await client.queryEntities({
    filter: { kind: 'component' },
    fullTextFilter: { term: 'the books', fields: ['metadata.description'] },
  });
  assert.deepEqual(refs(described.items), [LEDGER]);
});

await check("queryEntities: totalItems 'exclude' still pages", async () => {
  const res = await client.queryEntities({
    filter: { kind: 'component' },
    orderFields: { field: 'metadata.name', order: 'asc' },
    totalItems: 'exclude',
  });
  assert.deepEqual(names(res.items), ['invoices', 'ledger']);
  assert.equal(typeof res.totalItems, 'number');
});

await check('queryEntities: predicate query (POST /entities/by-query), then its cursor', async () => {
  const first = await client.queryEntities({
    query: { $all: [{ kind: { $in: ['component', 'api'] } }, { $not: { 'metadata.name': 'invoices' } }] },
    orderFields: { field: 'metadata.name', order: 'asc' },
    limit: 1,
  });
  assert.deepEqual(refs(first.items), [LEDGER]);
  assert.equal(first.totalItems, 2);
  assert.equal(typeof first.pageInfo.nextCursor, 'string');
  const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 1 });
  assert.deepEqual(refs(second.items), [API]);
  assert.equal(second.pageInfo.nextCursor, undefined);
  const both = await client.queryEntities({
    filter: { kind: 'component' },
    query: { 'spec.lifecycle': 'experimental' },
  });
  assert.deepEqual(refs(both.items), [INVOICES]);
});

await check('streamEntities: pages of pageSize following nextCursor', async () => {
  const pages = [];
  for await (const page of client.streamEntities({
    filter: FIVE_KINDS,
    orderFields: { field: 'metadata.name', order: 'asc' },
    pageSize: 2,
  })) {
    pages.push(names(page));
  }
  assert.deepEqual(pages, [FIVE_BY_NAME.slice(0, 2), FIVE_BY_NAME.slice(2, 4), FIVE_BY_NAME.slice(4)]);
});

// ================================================================== ancestry and facets
await check('getEntityAncestors: rootEntityRef is the entity, items walk up to the location', async () => {
  const res = await client.getEntityAncestors({ entityRef: GROUP });
  assert.equal(res.rootEntityRef, GROUP);
  assert.deepEqual(
    res.items.map(i => [ref(i.entity), i.parentEntityRefs]),
    [
      [GROUP, [LOCATION_ENTITY]],
      [LOCATION_ENTITY, [GENERATED]],
      [GENERATED, []],
    ],
  );
  const direct = await client.getEntityAncestors({ entityRef: LEDGER });
  assert.equal(direct.rootEntityRef, LEDGER);
  assert.deepEqual(direct.items.map(i => [ref(i.entity), i.parentEntityRefs]), [
    [LEDGER, [GENERATED]],
    [GENERATED, []],
  ]);
});

await check('getEntityAncestors: a missing entity is a 404 NotFoundError', async () => {
  await expectResponseError(client.getEntityAncestors({ entityRef: GHOST }), 404, 'NotFoundError');
});

await check('getEntityFacets: value counts, with and without filter', async () => {
  const all = await client.getEntityFacets({ facets: ['kind'] });
  assert.deepEqual(Object.keys(all), ['facets']);
  assert.deepEqual(byValue(all.facets.kind), [
    { value: 'API', count: 1 },
    { value: 'Component', count: 2 },
    { value: 'Group', count: 1 },
    { value: 'Location', count: 2 },
    { value: 'System', count: 1 },
  ]);
  const res = await client.getEntityFacets({
    facets: ['spec.type', 'metadata.tags', 'spec.nothing'],
    filter: { kind: ['component', 'api'] },
  });
  assert.deepEqual(Object.keys(res.facets).sort(), ['metadata.tags', 'spec.nothing', 'spec.type']);
  assert.deepEqual(byValue(res.facets['spec.type']), [
    { value: 'openapi', count: 1 },
    { value: 'service', count: 1 },
    { value: 'website', count: 1 },
  ]);
  assert.deepEqual(byValue(res.facets['metadata.tags']), [
    { value: 'accounting', count: 1 },
    { value: 'python', count: 2 },
  ]);
  assert.deepEqual(res.facets['spec.nothing'], []);
});

await check('getEntityFacets: predicate query (POST /entity-facets)', async () => {
  const res = await client.getEntityFacets({
    facets: ['spec.type'],
    query: { kind: 'component' },
  });
  assert.deepEqual(byValue(res.facets['spec.type']), [
    { value: 'service', count: 1 },
    { value: 'website', count: 1 },
  ]);
});

// ================================================================== validation and analysis
await check('validateEntity: a valid entity is { valid: true }', async () => {
  const res = await client.validateEntity(
    {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'fresh', tags: ['new'] },
      spec: { type: 'service', lifecycle: 'experimental', owner: 'team-money' },
    },
    URL_LOCATION_REF,
  );
  assert.deepEqual(res, { valid: true });
});

await check('validateEntity: an invalid entity is { valid: false, errors: [{ name, message }] }', async () => {
  const res = await client.validateEntity(
    {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'no good' },
      spec: { type: 'service' },
    },
    URL_LOCATION_REF,
  );
  assert.equal(res.valid, false);
  assert.ok(Array.isArray(res.errors) && res.errors.length > 0, 'errors is a non-empty array');
  for (const e of res.errors) {
    assert.equal(typeof e.name, 'string');
    assert.equal(typeof e.message, 'string');
  }
  const notAnEntity = await client.validateEntity({ kind: 'Component' }, URL_LOCATION_REF);
  assert.equal(notAnEntity.valid, false);
  assert.ok(notAnEntity.errors.length > 0);
});

await check('analyzeLocation: answers (200 with the analysis, or a 400 InputError)', async () => {
  let res;
  try {
    res = await client.analyzeLocation({ location: { type: 'file', target: catalogFile } });
  } catch (err) {
    // Backstage's analyzers only take URLs; a 400 InputError is its answer for anything else.
    if (err?.statusCode === 400 && err?.cause?.name === 'InputError') return;
    throw err;
  }
  assert.ok(Array.isArray(res.existingEntityFiles), 'existingEntityFiles is an array');
  assert.ok(Array.isArray(res.generateEntities), 'generateEntities is an array');
  for (const f of res.existingEntityFiles) {
    assert.equal(typeof f.isRegistered, 'boolean');
    assert.equal(typeof f.location?.target, 'string');
    assert.equal(typeof f.entity?.kind, 'string');
  }
});

// ================================================================== a second fetch implementation
await check('global fetch as fetchApi (how Backstage apps pass FetchApi): reads work', async () => {
  const viaFetch = new CatalogClient({ discoveryApi, fetchApi: { fetch: globalThis.fetch } });
  assert.deepEqual(refs((await viaFetch.getEntities({ filter: { kind: 'component' } })).items).sort(), [INVOICES, LEDGER]);
  assert.equal((await viaFetch.getEntityByRef(LEDGER))?.metadata.uid, ledger.metadata.uid);
  assert.equal(await viaFetch.getEntityByRef(GHOST), undefined);
  const first = await viaFetch.queryEntities({ filter: FIVE_KINDS, orderFields: { field: 'metadata.name', order: 'asc' }, limit: 3 });
  const next = await viaFetch.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 3 });
  assert.deepEqual([...names(first.items), ...names(next.items)], FIVE_BY_NAME);
  assert.equal((await viaFetch.getLocations()).items.length, 1);
});

// ================================================================== mutations
await check('refreshEntity: reprocesses the entity’s location (a new entity appears)', async () => {
  fs.appendFileSync(
    catalogFile,
    [
      '---',
      'apiVersion: backstage.io/v1alpha1',
      'kind: Component',
      'metadata: {name: payroll, description: Added after registration}',
      'spec: {type: service, lifecycle: experimental, owner: team-money, system: finance}',
      '',
    ].join('\n'),
  );
  const res = await client.refreshEntity(LEDGER);
  assert.equal(res, undefined);
  const payroll = await eventually(`${PAYROLL} after refreshEntity`, () => client.getEntityByRef(PAYROLL));
  assertEntityEnvelope(payroll, PAYROLL);
});

await check('refreshEntity: a missing entity is a 404 NotFoundError', async () => {
  await expectResponseError(client.refreshEntity(GHOST), 404, 'NotFoundError');
});

await check('removeEntityByUid: the entity is gone, and returns at its location’s next refresh', async () => {
  const current = await client.getEntityByRef(LEDGER);
  assert.equal(await client.removeEntityByUid(current.metadata.uid), undefined);
  assert.equal(await client.getEntityByRef(LEDGER), undefined);
  assert.deepEqual(refs((await client.getEntitiesByRefs({ entityRefs: [LEDGER, INVOICES] })).items), [undefined, INVOICES]);
  await client.refreshEntity(INVOICES);
  const back = await eventually(`${LEDGER} to come back`, () => client.getEntityByRef(LEDGER));
  assertEntityEnvelope(back, LEDGER);
});

await check('updateLocation: new target, same id and entityRef; unknown id is a 404', async () => {
  fs.copyFileSync(catalogFile, movedFile);
  const updated = await client.updateLocation(location.id, { type: 'file', target: movedFile });
  assertLocation(updated, { id: location.id, target: movedFile });
  assertLocation(await client.getLocationById(location.id), { id: location.id, target: movedFile });
  assert.equal((await client.getLocationByRef(`file:${movedFile}`))?.id, location.id);
  assert.equal(await client.getLocationByRef(LOCATION_REF), undefined);
  const restored = await client.updateLocation(location.id, { type: 'file', target: catalogFile });
  assertLocation(restored, { id: location.id });
  await expectResponseError(
    client.updateLocation(randomUUID(), { type: 'file', target: movedFile }),
    404,
    'NotFoundError',
  );
});

await check('removeLocationById: the location and its entities go; unknown id is a 404', async () => {
  assert.equal(await client.removeLocationById(location.id), undefined);
  assert.equal(await client.getLocationById(location.id), undefined);
  assert.deepEqual((await client.getLocations()).items, []);
  await eventually('the location’s entities to be removed', async () => {
    return (await client.getEntities({ fields: ['kind'] })).items.length === 0;
  });
  await expectResponseError(client.removeLocationById(location.id), 404, 'NotFoundError');
});

// ================================================================== done
if (failures) {
  console.error(`\n${failures} of ${failures + passed} @backstage/catalog-client ${clientVersion} checks failed`);
  process.exit(1);
}
console.log(`\nall ${passed} @backstage/catalog-client ${clientVersion} checks passed`);
process.exit(0);
