import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import protobuf from 'protobufjs';

/**
 * A real OTLP/HTTP receiver for the tests: takes /v1/traces and /v1/metrics as protobuf (decoded
 * with the OTLP .proto definitions) or JSON, keeps what arrived, and can be switched to answer 503
 * or to drop connections, like a collector that is overloaded or down.
 */

// The parts of opentelemetry/proto (trace/v1, metrics/v1 not needed) the tests decode, field numbers as upstream.
const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
  int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10; Status status = 15; fixed32 flags = 16;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;
const ExportTraceServiceRequest = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  name: string;
  /** OTLP SpanKind: 3 = CLIENT. */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  statusCode: number;
  resource: Record<string, string | number | boolean>;
}

export interface ReceivedMetricPoint {
  metric: string;
  unit: string;
  attributes: Record<string, string | number | boolean>;
  /** Sum for counters and histograms; count for histograms. */
  sum: number;
  count?: number;
}

export type ReceiverMode = 'ok' | 'unavailable' | 'drop';

export interface OtlpReceiver {
  url: string;
  mode: ReceiverMode;
  /** Every accepted trace export request, each with its spans. */
  traceRequests: ReceivedSpan[][];
  /** Trace requests refused while not "ok". */
  refused: number;
  /** The latest accepted metrics request, as points (cumulative, so the latest has the totals). */
  metricRequests: ReceivedMetricPoint[][];
  contentTypes: Set<string>;
  headers: http.IncomingHttpHeaders[];
  spans(): ReceivedSpan[];
  /** Resolves once `n` spans in total have been accepted. */
  waitForSpans(n: number): Promise<ReceivedSpan[]>;
  waitForMetrics(predicate: (points: ReceivedMetricPoint[]) => boolean): Promise<ReceivedMetricPoint[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const sockets = new Set<Socket>();
  const waiters: Array<() => void> = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  const receiver: OtlpReceiver = {
    url: '',
    mode: 'ok',
    traceRequests: [],
    refused: 0,
    metricRequests: [],
    contentTypes: new Set(),
    headers: [],
    spans: () => receiver.traceRequests.flat(),
    waitForSpans(n) {
      return waitFor(() => (receiver.spans().length >= n ? receiver.spans() : undefined));
    },
    waitForMetrics(predicate) {
      return waitFor(() => receiver.metricRequests.find(predicate));
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  function waitFor<T>(get: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = () => {
        const value = get();
        if (value !== undefined) resolve(value);
        else waiters.push(check);
      };
      check();
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (receiver.mode === 'drop') {
        receiver.refused++;
        req.socket.destroy();
        return;
      }
      if (receiver.mode === 'unavailable') {
        receiver.refused++;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('collector unavailable');
        return;
      }
      const body = Buffer.concat(chunks);
      const type = String(req.headers['content-type'] ?? '');
      receiver.contentTypes.add(type);
      receiver.headers.push(req.headers);
      const json = type.includes('json');
      try {
        if (req.url === '/v1/traces') receiver.traceRequests.push(json ? spansFromJson(JSON.parse(body.toString('utf8'))) : spansFromProtobuf(body));
        else if (req.url === '/v1/metrics') {
          if (!json) throw new Error('the tests read metrics as JSON');
          receiver.metricRequests.push(pointsFromJson(JSON.parse(body.toString('utf8'))));
        } else {
          res.writeHead(404).end();
          return;
        }
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end((e as Error).message);
        return;
      }
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
      notify();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

type Attr = { key: string; value?: Record<string, unknown> };

function attrValue(v: Record<string, unknown> | undefined): string | number | boolean {
  if (!v) return '';
  if ('stringValue' in v && v.stringValue !== undefined && v.stringValue !== null) return String(v.stringValue);
  if ('boolValue' in v && v.boolValue !== undefined && v.boolValue !== null) return Boolean(v.boolValue);
  if ('intValue' in v && v.intValue !== undefined && v.intValue !== null) return Number(v.intValue);
  if ('doubleValue' in v && v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue);
  return JSON.stringify(v);
}

function attrs(list: Attr[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, attrValue(a.value)]));
}

function nanosToMs(n: unknown): number {
  return Number(BigInt(String(n)) / 1_000_000n);
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: unknown;
  endTimeUnixNano: unknown;
  attributes?: Attr[];
  status?: { code?: number };
}
interface JsonTraceRequest {
  resourceSpans?: Array<{ resource?: { attributes?: Attr[] }; scopeSpans?: Array<{ spans?: JsonSpan[] }> }>;
}

function spansFromJson(body: JsonTraceRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          name: s.name,
          kind: s.kind,
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

function spansFromProtobuf(body: Buffer): ReceivedSpan[] {
  const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, bytes: String, defaults: true }) as {
    resourceSpans: Array<{
      resource?: { attributes?: Attr[] };
      scopeSpans: Array<{ spans: Array<Omit<JsonSpan, 'traceId' | 'spanId'> & { traceId: string; spanId: string }> }>;
    }>;
  };
  const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
  const out: ReceivedSpan[] = [];
  for (const rs of decoded.resourceSpans) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          name: s.name,
          kind: s.kind,
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

interface JsonPoint {
  attributes?: Attr[];
  asDouble?: number;
  asInt?: unknown;
  sum?: number;
  count?: unknown;
}
interface JsonMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints: JsonPoint[] };
  histogram?: { dataPoints: JsonPoint[] };
}
interface JsonMetricsRequest {
  resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: JsonMetric[] }> }>;
}

function pointsFromJson(body: JsonMetricsRequest): ReceivedMetricPoint[] {
  const out: ReceivedMetricPoint[] = [];
  for (const rm of body.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        for (const p of m.sum?.dataPoints ?? []) {
          out.push({ metric: m.name, unit: m.unit ?? '', attributes: attrs(p.attributes), sum: Number(p.asDouble ?? p.asInt ?? 0) });
        }
        for (const p of m.histogram?.dataPoints ?? []) {
          out.push({ metric: m.name, unit: m.unit ?? '', attributes: attrs(p.attributes), sum: Number(p.sum ?? 0), count: Number(p.count ?? 0) });
        }
      }
    }
  }
  return out;
}
