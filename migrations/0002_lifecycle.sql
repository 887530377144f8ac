-- Order lifecycle: payment events (stored once by webhook id), every received webhook with its
-- verification outcome, and the durable release markers behind exactly-once stock release.

-- One row per distinct webhook-id that passed verification. order_id is not a foreign key: an
-- event may arrive before its order is persisted (status 'pending').
CREATE TABLE payment_events (
  webhook_id    text        PRIMARY KEY CHECK (length(webhook_id) BETWEEN 1 AND 255),
  type          text        NOT NULL CHECK (type IN ('payment.succeeded', 'payment.failed')),
  order_id      uuid        NOT NULL,
  amount_cents  bigint      NOT NULL,
  currency      text        NOT NULL,
  payment_id    text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('pending', 'applied', 'ignored', 'orphaned')),
  reason        text        NULL,
  order_status  text        NULL,  -- the order's status after this event was handled
  received_at   timestamptz NOT NULL DEFAULT now(),
  handled_at    timestamptz NULL
);
CREATE INDEX payment_events_pending ON payment_events (order_id) WHERE status = 'pending';
CREATE INDEX payment_events_pending_age ON payment_events (received_at) WHERE status = 'pending';

-- Every webhook request received, verified or not (bounded excerpt of the body).
CREATE TABLE webhook_receipts (
  id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id    text        NULL,
  verified      boolean     NOT NULL,
  outcome       text        NOT NULL,
  body_excerpt  text        NULL,
  received_at   timestamptz NOT NULL DEFAULT now()
);

-- Written in the same transaction as the transition that frees an order's units. The Redis
-- release happens after commit and stamps released_at; the release run finishes any left unstamped
-- (a process that died between the commit and Redis).
CREATE TABLE stock_releases (
  order_id     uuid        PRIMARY KEY REFERENCES orders (order_id),
  product_id   bigint      NOT NULL,
  customer_id  text        NOT NULL,
  qty          integer     NOT NULL CHECK (qty >= 1),
  created_at   timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz NULL
);
CREATE INDEX stock_releases_unapplied ON stock_releases (created_at) WHERE released_at IS NULL;
