package org.distill4j.cli;

import ai.djl.engine.Engine;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Prints distill4j, DJL and PyTorch versions. */
@Command(name = "version", description = "Print distill4j, DJL and PyTorch versions.")
final class VersionCommand implements Runnable {

    @Override
    public void run() {
        for (String line : lines()) {
            System.out.println(line);
        }
    }

    static String[] lines() {
        String own = DistillCli.class.getPackage().getImplementationVersion();
        Engine pytorch = Engine.getEngine("PyTorch");
        return new String[] {
            "distill4j " + (own == null ? "(development build)" : own),
            "DJL " + Engine.getDjlVersion(),
            "PyTorch " + pytorch.getVersion() + " (" + (pytorch.getGpuCount() > 0 ? "GPU" : "CPU") + ")",
            "Java " + System.getProperty("java.version")
        };
    }

    static final class Provider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return lines();
        }
    }
}
