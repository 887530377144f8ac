-- Products, orders and the append-only order history.
-- Money is integer minor units; every status change is a conditional UPDATE plus an order_events row.

CREATE TABLE products (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku                 text        NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64),
  name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  price_cents         bigint      NOT NULL CHECK (price_cents >= 0),
  currency            char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  stock_total         integer     NOT NULL CHECK (stock_total >= 0),
  max_per_order       integer     NOT NULL CHECK (max_per_order BETWEEN 1 AND 1000),
  per_customer_limit  integer     NULL CHECK (per_customer_limit >= 1),
  reservation_ttl_s   integer     NOT NULL CHECK (reservation_ttl_s BETWEEN 1 AND 86400),
  sale_starts_at      timestamptz NULL,
  sale_ends_at        timestamptz NULL,
  paused              boolean     NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (sale_ends_at IS NULL OR sale_starts_at IS NULL OR sale_ends_at > sale_starts_at)
);

CREATE TABLE orders (
  order_id          uuid        PRIMARY KEY,
  product_id        bigint      NOT NULL REFERENCES products (id),
  customer_id       text        NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
  qty               integer     NOT NULL CHECK (qty >= 1),
  unit_price_cents  bigint      NOT NULL CHECK (unit_price_cents >= 0),
  amount_cents      bigint      NOT NULL CHECK (amount_cents = unit_price_cents * qty),
  currency          char(3)     NOT NULL,
  status            text        NOT NULL CHECK (status IN
                      ('reserved', 'expired', 'cancelled', 'paid', 'payment_failed', 'refund_required')),
  created_at        timestamptz NOT NULL,
  expires_at        timestamptz NOT NULL,
  paid_at           timestamptz NULL,
  closed_at         timestamptz NULL,
  persisted_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_created ON orders (customer_id, created_at DESC, order_id DESC);
CREATE INDEX orders_product_status ON orders (product_id, status);
CREATE INDEX orders_reserved_expiry ON orders (expires_at) WHERE status = 'reserved';

-- Append-only: who/what changed an order, when and why. from_status NULL = the order's creation.
CREATE TABLE order_events (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id     uuid        NOT NULL REFERENCES orders (order_id),
  from_status  text        NULL,
  to_status    text        NOT NULL,
  actor        text        NOT NULL,
  reason       text        NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order ON order_events (order_id, id);

CREATE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'order_events is append-only';
END $$;
CREATE TRIGGER order_events_no_update BEFORE UPDATE OR DELETE ON order_events
  FOR EACH ROW EXECUTE FUNCTION order_events_append_only();
