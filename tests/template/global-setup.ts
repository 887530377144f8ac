// The template project packages dev, prod and shared offline once per run (only when an input is
// newer than the packaged template), so every test reads what `sls package` really generates.
import { CHECKED_STAGES, packageIfStale } from '../../infra/aws/package';

export default function setup(): void {
  packageIfStale(CHECKED_STAGES, (m) => console.log(m));
}
