import * as lancedb from '@lancedb/lancedb';
import { Schema, Field, Utf8, FixedSizeList, Float32, Float64, Int64 } from 'apache-arrow';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'lx-'));
const db = await lancedb.connect(dir, { readConsistencyInterval: 0 });
const dim = 8;
const schema = new Schema([
  new Field('id', new Utf8(), false),
  new Field('asset_id', new Utf8(), false),
  new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
  new Field('payload', new Utf8(), false),
  new Field('category', new Utf8(), true),
  new Field('width', new Float64(), true),
], new Map([['isearch.collection', JSON.stringify({ m: 16 })]]));
const t = await db.createEmptyTable('c1', schema);
const t2 = await db.openTable('c1');
const s = await t2.schema();
console.log('meta', s.metadata);
const rows = Array.from({ length: 20 }, (_, i) => ({ id: `id${i}`, asset_id: `a${i}`, vector: Array.from({ length: dim }, (_, j) => Math.sin(i * 7 + j)), payload: '{}', category: i % 2 ? 'x' : "o'q", width: i }));
const data = lancedb.makeArrowTable(rows, { schema });
const r = await t.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
console.log(r);
console.log('count', await t2.countRows(), await t2.version());
const q = await t2.vectorSearch(rows[3].vector).distanceType('cosine').limit(3).where("category = 'o''q'").toArray();
console.log(q.map((x) => [x.asset_id, x._distance, x.category]));
const rid = await t2.query().select(['asset_id']).withRowId().limit(5).toArray();
console.log(rid.map(x=>[x.asset_id, x._rowid]));
try { const rr = await t2.query().select(['asset_id']).where('_rowid > 3').limit(5).toArray(); console.log('rowid filter', rr.map(x=>x.asset_id)); } catch(e) { console.log('rowid filter err', String(e)); }
const off = await t2.query().select(['asset_id']).offset(15).limit(10).toArray(); console.log('offset', off.map(x=>x.asset_id));
try { await t2.query().where("nonexist = 1").toArray(); } catch (e) { console.log('bad col err:', String(e).slice(0,200)); }
console.log(await t2.listIndices());
const ret = await t2.query().where("id IN ('id1','id2')").toArray(); console.log(ret[0].vector, Array.from(ret[0].vector as any).slice(0,3), ret[0].vector.constructor.name);
