// Artillery hooks shared by the scenarios in this folder.
//   buildOrder       beforeRequest: the order body with numeric product_id and qty (templating
//                    would send strings, which the API rightly refuses)
//   checkNoOversell  the `after` hook: waits until every accepted order reached PostgreSQL, then
//                    reads GET /api/admin/products/{id}/audit and fails the run unless ok is true
//                    and drift is 0. Needs TARGET_URL, PRODUCT_ID and ADMIN_TOKEN in the environment
//                    (load/artillery.ts sets them).
'use strict';

function buildOrder(req, context, _events, next) {
  const max = Number(context.vars.max_qty || 1);
  req.json = {
    product_id: Number(context.vars.product_id),
    qty: 1 + Math.floor(Math.random() * max),
  };
  return next();
}

async function checkNoOversell(context, _events) {
  const target = process.env.TARGET_URL || context.vars.target;
  const id = process.env.PRODUCT_ID;
  const token = process.env.ADMIN_TOKEN;
  if (!target || !id || !token) {
    console.log('no-oversell check skipped: TARGET_URL, PRODUCT_ID and ADMIN_TOKEN are needed');
    return;
  }
  const deadline = Date.now() + Number(process.env.AUDIT_WAIT_S || 120) * 1000;
  let audit;
  for (;;) {
    const res = await fetch(`${target}/api/admin/products/${id}/audit`, {
      headers: { authorization: `Bearer ${token}` },
    });
    audit = await res.json();
    if (!res.ok) break;
    if (audit.in_flight === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const ok = audit && audit.ok === true && audit.drift === 0 && audit.in_flight === 0;
  console.log(`no-oversell check (product ${id}): ${ok ? 'ok' : 'FAILED'} ${JSON.stringify(audit)}`);
  if (!ok) {
    if (global.artillery) global.artillery.suggestedExitCode = 1;
    process.exitCode = 1;
  }
}

module.exports = { buildOrder, checkNoOversell };
