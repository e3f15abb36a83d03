package smartcity.landing;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
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
 * after it (measured with Java Flight Recorder). This one sets permissions with {@code
 * java.nio} and asks for a link's target only where there is a link; everything else is
 * Hadoop's own code. The landing job uses it for a local lake and local checkpoints only
 * ({@link #CHECKPOINTS_KEY}, {@link #forWriters}); object stores never fork.
 */
public final class ForklessLocalFileSystem extends LocalFileSystem {
  /** Where Hadoop's {@code FileContext}, which Spark's checkpoints use, finds its class. */
  public static final String CHECKPOINTS_KEY = "fs.AbstractFileSystem.file.impl";

  public ForklessLocalFileSystem() {
    super(new Raw());
  }

  /** This file system for {@code uri} when it names a local path, else Hadoop's own. */
  public static FileSystem forUri(URI uri, Configuration conf) throws IOException {
    FileSystem named = FileSystem.get(uri, conf); // a path without a scheme: the default
    if (!"file".equals(named.getScheme())) {
      return named;
    }
    FileSystem local = new ForklessLocalFileSystem();
    local.initialize(FsConstants.LOCAL_FS_URI, conf);
    return local;
  }

  /**
   * Points {@code conf}'s local paths at the raw (checksum-less) file system, one instance
   * per use: for a job's own writers, whose staging files need no {@code .crc} files and
   * must not get the cached instance that the conf's classes never reach.
   */
  public static void forWriters(Configuration conf) {
    conf.set("fs.file.impl", Raw.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
  }

  /** The raw (checksum-less) local file system. */
  public static final class Raw extends RawLocalFileSystem {
    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      Set<PosixFilePermission> posix = posix(permission);
      if (posix == null) {
        super.setPermission(p, permission); // the sticky bit and such: Hadoop's own way
        return;
      }
      try {
        Files.setPosixFilePermissions(pathToFile(p).toPath(), posix);
      } catch (UnsupportedOperationException notPosix) {
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

  /** The same for {@code FileContext}: what Hadoop's {@code LocalFs} is to its own. */
  public static final class Fs extends ChecksumFs {
    public Fs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(new RawFs(uri, conf));
    }
  }

  /** What Hadoop's {@code RawLocalFs} is, over {@link Raw}. */
  public static final class RawFs extends DelegateToFileSystem {
    public RawFs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(uri, new Raw(), conf, FsConstants.LOCAL_FS_URI.getScheme(), false);
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

  /** The permission as java.nio's set, or null when it has bits beyond rwx for each. */
  static Set<PosixFilePermission> posix(FsPermission permission) {
    int mode = permission.toShort();
    if ((mode & ~0777) != 0) {
      return null;
    }
    // From the lowest bit up, as in an octal mode.
    PosixFilePermission[] bits = {
      PosixFilePermission.OTHERS_EXECUTE,
      PosixFilePermission.OTHERS_WRITE,
      PosixFilePermission.OTHERS_READ,
      PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.GROUP_WRITE,
      PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE,
      PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_READ
    };
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    for (int i = 0; i < bits.length; i++) {
      if ((mode & (1 << i)) != 0) {
        set.add(bits[i]);
      }
    }
    return set;
  }
}
