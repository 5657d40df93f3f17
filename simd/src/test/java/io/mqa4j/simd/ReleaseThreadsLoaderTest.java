package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.ref.WeakReference;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The library loaded by a class loader of its own, as an application server loads a web
 * application's: once {@code releaseThreads} has ended the workers, nothing of the library's keeps
 * that loader alive, and the collector can take it.
 */
class ReleaseThreadsLoaderTest {

  @Test
  void afterReleaseThreadsTheLibrarysLoaderCanBeCollected() throws Exception {
    WeakReference<ClassLoader> loader = loadUseAndRelease();
    for (int i = 0; i < 50 && loader.get() != null; i++) {
      System.gc();
      Thread.sleep(20);
    }
    assertNull(loader.get(), "the library's class loader is still reachable");
  }

  @Test
  void theLoadedLibrarysWorkersRunUntilReleased() throws Exception {
    // Its workers are of its own loader's classes: while they run, they hold it.
    URLClassLoader app = newLoader();
    Class<?> kernels = Class.forName("io.mqa4j.core.AttentionKernels", true, app);
    Object kernel = kernels.getMethod("simd", int.class).invoke(null, 2);
    assertNotNull(kernel);
    List<Thread> workers = workersOf(app);
    assertFalse(workers.isEmpty(), "no worker of the loaded library found");
    kernels.getMethod("releaseThreads").invoke(null);
    for (Thread t : workers) {
      assertFalse(t.isAlive(), t.getName());
    }
    app.close();
  }

  private static WeakReference<ClassLoader> loadUseAndRelease() throws Exception {
    URLClassLoader app = newLoader();
    Class<?> kernels = Class.forName("io.mqa4j.core.AttentionKernels", true, app);
    kernels.getMethod("simd", int.class).invoke(null, 2);
    kernels.getMethod("simd", int.class).invoke(null, 3);
    assertTrue(workersOf(app).size() >= 3, "the loaded library's pools did not start");
    kernels.getMethod("releaseThreads").invoke(null);
    assertTrue(workersOf(app).isEmpty(), "workers outlived releaseThreads");
    app.close();
    return new WeakReference<>(app);
  }

  /** A loader of the library's classes alone, beside (not below) the test's own. */
  private static URLClassLoader newLoader() throws Exception {
    List<URL> urls = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String normal = entry.replace('\\', '/');
      if (normal.endsWith("simd/target/classes") || normal.endsWith("core/target/classes")
          || normal.contains("mqa4j-core") || normal.contains("slf4j-api")) {
        urls.add(Path.of(entry).toUri().toURL());
      }
    }
    assertTrue(urls.size() >= 3, "the library's classes were not found on " + urls);
    return new URLClassLoader("mqa4j-under-test", urls.toArray(URL[]::new),
        ClassLoader.getPlatformClassLoader());
  }

  private static List<Thread> workersOf(ClassLoader loader) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getClass().getClassLoader() == loader).toList();
  }
}
