package org.distill4j.cli;

import java.nio.file.Path;
import org.distill4j.glue.GlueReader;
import picocli.CommandLine.Option;

/** Where GLUE data comes from and how strictly it is read; shared by every GLUE command. */
final class GlueDataOptions {

    @Option(names = "--glue-dir", paramLabel = "DIR", description = "GLUE data (default $GLUE_DIR, then "
            + "../shared/data/glue)")
    Path glueDir;

    @Option(names = "--skip-bad-rows", description = "skip malformed TSV rows and report how many")
    boolean skipBadRows;

    /** The GLUE directory: --glue-dir, $GLUE_DIR, then ../shared/data/glue. */
    Path dir() {
        return GlueReader.locate(glueDir);
    }
}
