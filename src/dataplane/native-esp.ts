/**
 * The native ESP core (native/esp/esp.c, native/esp/replay.c) as one SA with its own
 * inbound replay window, for differential tests and benchmarks against
 * src/crypto/esp.ts. Arguments are checked exactly as `SecurityAssociation`,
 * `ReplayWindow` and `sealEsp` check them (same CryptoError codes) and drops
 * carry the same names; the data path's workers call the C functions directly.
 */
import {
  CryptoError,
  DEFAULT_REPLAY_WINDOW,
  ESP_DROP_REASONS,
  ESP_NEXT_HEADER_UDP,
  type EspDropReason,
  type OpenedEsp,
  REPLAY_TOO_OLD,
  ReplayWindow,
  SecurityAssociation,
  type SecurityAssociationParams,
  maxSequence,
} from '../crypto/index.js';
import { loadAddon } from './addon.js';

/** The addon's EspSaHandle class (native/binding/binding_esp.cc); drops are −(index in espDropReasons + 1). */
export interface EspSaHandle {
  /** esp_seal into a new Buffer. */
  seal(seq: number, payload: Buffer, nextHeader: number): Buffer;
  /** esp_seal into `out`; returns the packet length. */
  sealInto(seq: number, payload: Buffer, nextHeader: number, out: Buffer): number;
  /** esp_open of a copy (in place) or into a scratch buffer; a negative number is a drop. */
  open(packet: Buffer, inPlace: boolean): OpenedEsp | number;
  /** esp_open into `out`; the payload length or a negative drop. */
  openInto(packet: Buffer, out: Buffer): number;
  /** Seals in place `count` times in one call; returns seconds. */
  sealRepeat(firstSeq: number, buf: Buffer, payloadLength: number, count: number): number;
  /** Opens `count` times in one call (window reset before each); returns seconds. */
  openRepeat(packet: Buffer, count: number): number;
  /** replay_verdict: 0, −1 (too old) or −2 (duplicate). */
  verdict(seq: number): number;
  /** replay_window_reset. */
  resetWindow(): void;
  /** The window's top. */
  readonly windowTop: number;
}

/** The ESP exports of the addon. */
export interface EspAddon {
  EspSaHandle: new (spi: number, key: Buffer, salt: Buffer, esn: boolean, windowSize: number) => EspSaHandle;
  /** The C core's drop names, in the order of {@link ESP_DROP_REASONS}. */
  readonly espDropReasons: readonly string[];
}

/** Loads the addon's ESP exports; throws AddonLoadError when the addon is not built. */
export function loadEspAddon(): EspAddon {
  return loadAddon() as unknown as EspAddon;
}

/** What a {@link NativeEspSa} is made of: an SA plus the inbound window size. */
export interface NativeEspSaParams extends SecurityAssociationParams {
  /** Replay window in packets (default {@link DEFAULT_REPLAY_WINDOW}), as `new ReplayWindow(size)`. */
  windowSize?: number;
}

/** How {@link NativeEspSa.open} hands the packet to the C core. */
export interface NativeOpenOptions {
  /** Decrypt a copy of the packet in place (a worker's path) instead of into a separate buffer. */
  inPlace?: boolean;
}

/** The drop reason of a negative esp_open() result. */
function dropReason(code: number): EspDropReason {
  const reason = ESP_DROP_REASONS[-code - 1];
  if (reason === undefined) throw new RangeError(`esp_open returned ${code}, not a drop reason`);
  return reason;
}

/** One SA sealed and opened by the C core, with its inbound replay window in native memory. */
export class NativeEspSa {
  /** The SA as src/crypto sees it (validated with the same rules). */
  readonly sa: SecurityAssociation;
  /** Replay window size in packets. */
  readonly windowSize: number;
  private readonly handle: EspSaHandle;

  /**
   * @throws CryptoError BAD_SA / BAD_KEY (as SecurityAssociation), BAD_ARGUMENT (window size)
   * @throws AddonLoadError when the addon is not built
   */
  constructor(params: NativeEspSaParams) {
    this.sa = new SecurityAssociation(params);
    this.windowSize = params.windowSize ?? DEFAULT_REPLAY_WINDOW;
    new ReplayWindow(this.windowSize); // same validation and error as the TypeScript window
    this.handle = new (loadEspAddon().EspSaHandle)(this.sa.spi, this.sa.key, this.sa.salt, this.sa.esn, this.windowSize);
  }

  private checkSeal(seq: number, nextHeader: number): void {
    if (!Number.isInteger(seq) || seq < 1 || seq > maxSequence(this.sa)) {
      throw new CryptoError('BAD_SEQUENCE', `sequence number ${seq}: need 1..${this.sa.esn ? '2^53' : '2^32'}−1`);
    }
    if (!Number.isInteger(nextHeader) || nextHeader < 0 || nextHeader > 0xff) throw new CryptoError('BAD_ARGUMENT', `next header ${nextHeader}`);
  }

  /**
   * The ESP packet for `payload` with sequence number `seq`: the same bytes
   * as `sealEsp(sa, seq, payload, nextHeader)`.
   * @throws CryptoError BAD_SEQUENCE, BAD_ARGUMENT
   */
  seal(seq: number, payload: Buffer, nextHeader: number = ESP_NEXT_HEADER_UDP): Buffer {
    this.checkSeal(seq, nextHeader);
    return this.handle.seal(seq, payload, nextHeader);
  }

  /**
   * Seals into `out` (at least `sealedLength(payload.length)` bytes) and
   * returns the packet length; in place, without a copy, when `payload` is
   * the view of `out` starting at ESP_GCM_PREFIX_LENGTH.
   * @throws CryptoError BAD_SEQUENCE, BAD_ARGUMENT; an Error (ERR_INVALID_ARG_VALUE) when `out` is too small
   */
  sealInto(seq: number, payload: Buffer, out: Buffer, nextHeader: number = ESP_NEXT_HEADER_UDP): number {
    this.checkSeal(seq, nextHeader);
    return this.handle.sealInto(seq, payload, nextHeader, out);
  }

  /**
   * Opens `packet` (SPI to ICV) against this SA and its window: the same
   * result as `openEsp(sa, window, packet)`. Never throws; the packet is not modified.
   */
  open(packet: Buffer, options: NativeOpenOptions = {}): OpenedEsp | EspDropReason {
    const r = this.handle.open(packet, options.inPlace ?? false);
    return typeof r === 'number' ? dropReason(r) : r;
  }

  /**
   * Opens `packet` into `out` and returns the payload length, or the drop
   * reason. In place when `out` is the view of `packet` starting at
   * ESP_GCM_PREFIX_LENGTH (the ciphertext is then overwritten, also on a
   * drop); otherwise `out` must not overlap the packet and needs
   * `packet.length − 32` bytes. Allocates nothing.
   */
  openInto(packet: Buffer, out: Buffer): number | EspDropReason {
    const r = this.handle.openInto(packet, out);
    return r < 0 ? dropReason(r) : r;
  }

  /**
   * Benchmark: seals the payload at `buf[ESP_GCM_PREFIX_LENGTH ..]` in place
   * `count` times with numbers `firstSeq`… inside one native call; returns
   * the seconds it took (the C core's cost without a JavaScript call per packet).
   * @throws CryptoError BAD_SEQUENCE
   */
  sealRepeat(firstSeq: number, buf: Buffer, payloadLength: number, count: number): number {
    this.checkSeal(firstSeq + count - 1, ESP_NEXT_HEADER_UDP);
    this.checkSeal(firstSeq, ESP_NEXT_HEADER_UDP);
    return this.handle.sealRepeat(firstSeq, buf, payloadLength, count);
  }

  /**
   * Benchmark: opens `packet` (which must be authentic) `count` times inside
   * one native call, resetting the window before each; returns the seconds it took.
   */
  openRepeat(packet: Buffer, count: number): number {
    return this.handle.openRepeat(packet, count);
  }

  /** As `ReplayWindow.verdict`: `seq` when acceptable, else REPLAY_TOO_OLD or REPLAY_DUPLICATE. */
  verdict(seq: number): number {
    if (!Number.isSafeInteger(seq) || seq < 1) return REPLAY_TOO_OLD;
    const v = this.handle.verdict(seq);
    return v === 0 ? seq : v;
  }

  /** Highest sequence number the window accepted (0 before the first). */
  get windowTop(): number {
    return this.handle.windowTop;
  }

  /** Forgets every received number, as a restarted receiver. */
  resetWindow(): void {
    this.handle.resetWindow();
  }
}
