// The part of autocannon 9's programmatic API the bench uses (@types/autocannon describes 7.x).
declare module "autocannon" {
  namespace autocannon {
    interface RequestSpec {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Called with every response to this request. */
      onResponse?: (status: number, body: string) => void;
    }
    /** One connection: it loops over its requests. */
    interface Client {
      setRequests(requests: RequestSpec[]): void;
    }
    interface Options {
      url: string;
      connections: number;
      duration?: number;
      /** A fixed number of requests; duration is then ignored. */
      amount?: number;
      timeout?: number;
      requests?: RequestSpec[];
      /** Called once for each connection as it is made. */
      setupClient?: (client: Client) => void;
    }
    interface Result {
      /** Connection errors, timeouts included. */
      errors: number;
      timeouts: number;
      /** Answers whose status was not 2xx. */
      non2xx: number;
      /** ms */
      latency: { p50: number; p99: number };
      requests: { total: number };
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export = autocannon;
}
