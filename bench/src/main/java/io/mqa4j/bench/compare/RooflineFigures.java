package io.mqa4j.bench.compare;

/**
 * The machine's ceilings as a compare run records them (see {@code mqa roofline}).
 *
 * @param readGBps memory read bandwidth with {@code threads} threads, 10^9 bytes per second
 * @param fmaGflops FP32 FMA peak with {@code threads} threads
 */
public record RooflineFigures(double readGBps, double fmaGflops, double readGBpsOneThread,
    double fmaGflopsOneThread, int threads, int speciesBits) {

  public static RooflineFigures of(io.mqa4j.bench.roofline.Roofline.Result r) {
    return new RooflineFigures(r.readGBps(), r.fmaGflops(), r.readGBpsOneThread(), r.fmaGflopsOneThread(),
        r.threads(), r.speciesBits());
  }
}
