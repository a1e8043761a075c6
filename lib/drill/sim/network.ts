/**
 * The network between regions as each vantage sees it: which region's code can reach which region's
 * endpoints. A cut is directional: the controller's region may lose the primary's region while a
 * vantage in a third region still reaches it (a broken peering, transit gateway or NAT path; AWS's
 * backbone between the controller and the other regions' APIs stays up).
 *
 * A cut makes connections from `from` to `to` fail at once with "connection refused" rather than hang:
 * in AWS a partition mostly shows as a connect timeout, but no wall-clock timeout decides a drill's
 * result (the probes' own timeout path is covered by the slow-endpoint scenario).
 */
export class SimNetwork {
  private readonly cuts = new Set<string>();

  /** `from` can no longer reach endpoints in `to`. */
  cut(from: string, to: string): void {
    this.cuts.add(`${from}>${to}`);
  }

  heal(from: string, to: string): void {
    this.cuts.delete(`${from}>${to}`);
  }

  reachable(from: string, to: string): boolean {
    return !this.cuts.has(`${from}>${to}`);
  }
}
