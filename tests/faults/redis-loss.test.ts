// Redis losing data (wiped, rolled back) under load: rebuilt and reconciled from PostgreSQL.
import { faultSuite } from './fault-suite';

faultSuite('redis-loss');
