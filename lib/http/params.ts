// Path parameters, checked without a schema library (handlers that read only an id stay small).

/** Path ids: a positive integer product id; anything else is answered 404 by the handler. */
export function productIdParam(raw: string | undefined): number | null {
  if (!raw || !/^[1-9]\d{0,9}$/.test(raw)) return null;
  const id = Number(raw);
  return id <= 0xffff_ffff ? id : null;
}
