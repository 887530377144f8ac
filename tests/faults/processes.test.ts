// Processes and connections down under load (Redis, the queue, PostgreSQL, every function), and
// duplicate delivery.
import { faultSuite } from './fault-suite';

faultSuite('processes');
