// What every local service is started with: where its data and its log go.
export interface ServiceOpts {
  dataDir: string;
  logDir: string;
}
