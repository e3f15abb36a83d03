package smartcity.landing;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FsConstants;
import org.apache.hadoop.fs.FsServerDefaults;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.local.LocalConfigKeys;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system, without a child process per file.
 *
 * <p>Without Hadoop's native library, which the pyspark wheel does not ship, the local
 * file system runs {@code chmod} for every file and folder it creates, and {@code
 * readlink} for every checkpoint file Spark renames: about 350 processes forked from the
 * driver's JVM in a cold landing run of five sources, and a few dozen in every micro-batch
 * after it (measured with Java Flight Recorder). This one sets the mode with one {@code
 * chmod(2)} call through {@code java.nio} and asks for a link's target only where there is
 * a link; everything else is Hadoop's own code. The landing job uses it for local paths
 * only ({@link #forUri}, {@link #forWriters}, {@link #forCheckpoints}); object stores never
 * fork.
 */
public class ForklessLocalFileSystem extends LocalFileSystem {
  public ForklessLocalFileSystem() {
    super(new RawLocal());
  }

  /** This file system for {@code uri} when it names a local path, else Hadoop's own. */
  public static FileSystem forUri(URI uri, Configuration conf) throws IOException {
    FileSystem named = FileSystem.get(uri, conf); // a path without a scheme: the default
    if (!isLocal(named)) {
      return named;
    }
    FileSystem local = new ForklessLocalFileSystem();
    local.initialize(FsConstants.LOCAL_FS_URI, conf);
    return local;
  }

  /**
   * Points a job's local paths at this file system, without {@code .crc} files (a table's
   * folders hold its own files and nothing else), when {@code staging} is local; a job
   * writing to an object store keeps Hadoop's own configuration.
   */
  public static void forWriters(Configuration conf, URI staging) throws IOException {
    if (!isLocal(FileSystem.get(staging, conf))) {
      return;
    }
    conf.set("fs.file.impl", WithoutChecksums.class.getName());
    // Hadoop caches file systems by scheme, authority and user, not by configuration:
    // with the cache, the job would get the session's instance and never this class.
    conf.setBoolean("fs.file.impl.disable.cache", true);
  }

  /** Points Hadoop's {@code FileContext}, which Spark's checkpoints use, at this one. */
  public static void forCheckpoints(Configuration conf) {
    conf.set("fs.AbstractFileSystem.file.impl", ForFileContext.class.getName());
  }

  private static boolean isLocal(FileSystem fs) {
    return "file".equals(fs.getScheme());
  }

  /** For a job's own staging files. Still a {@link LocalFileSystem}, as Hadoop expects
   * of whatever {@code fs.file.impl} names ({@code FileSystem.getLocal} casts to it). */
  public static final class WithoutChecksums extends ForklessLocalFileSystem {
    @Override
    public void initialize(URI name, Configuration conf) throws IOException {
      super.initialize(name, conf);
      setWriteChecksum(false);
    }
  }

  /** The raw (checksum-less) local file system underneath. */
  public static final class RawLocal extends RawLocalFileSystem {
    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      java.nio.file.Path file = pathToFile(p).toPath();
      int mode = permission.toShort() & 07777;
      try {
        if (Files.isDirectory(file)) { // through a link too, as chmod follows it
          // `chmod 0755` keeps a folder's set-user-ID and set-group-ID bits (GNU chmod
          // clears them only for a mode of five digits), so a lake under a shared
          // set-group-ID folder keeps handing its group down.
          mode |= (Integer) Files.getAttribute(file, "unix:mode") & 06000;
        }
        Files.setAttribute(file, "unix:mode", mode);
      } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
        super.setPermission(p, permission);
      }
    }

    @Override
    public FileStatus getFileLinkStatus(Path f) throws IOException {
      if (!Files.isSymbolicLink(pathToFile(f).toPath())) {
        // What Hadoop returns for a path that is not a link, found without `readlink`.
        return getFileStatus(f);
      }
      return super.getFileLinkStatus(f);
    }
  }

  /** What Hadoop's {@code LocalFs} is to {@code FileContext}, over {@link RawLocal}. */
  public static final class ForFileContext extends ChecksumFs {
    public ForFileContext(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(new RawForFileContext(conf)); // as LocalFs: always file:///, whatever the URI
    }
  }

  /** What Hadoop's {@code RawLocalFs} is, over {@link RawLocal}. */
  public static final class RawForFileContext extends DelegateToFileSystem {
    RawForFileContext(Configuration conf) throws IOException, URISyntaxException {
      super(
          FsConstants.LOCAL_FS_URI,
          new RawLocal(),
          conf,
          FsConstants.LOCAL_FS_URI.getScheme(),
          false);
    }

    @Override
    public int getUriDefaultPort() {
      return -1; // a file: URI has no port
    }

    @Override
    @Deprecated
    public FsServerDefaults getServerDefaults() throws IOException {
      return LocalConfigKeys.getServerDefaults();
    }

    @Override
    public FsServerDefaults getServerDefaults(Path f) throws IOException {
      return LocalConfigKeys.getServerDefaults();
    }

    @Override
    public boolean isValidName(String src) {
      return true; // as Hadoop's: the operating system judges local names
    }
  }
}
