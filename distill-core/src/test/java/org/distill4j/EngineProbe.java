package org.distill4j;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/** Started in a fresh JVM by {@link OfflineEngineTest}: boots the engine and does one op. */
public final class EngineProbe {

    private EngineProbe() {}

    public static void main(String[] args) {
        Engine engine = Engine.getEngine("PyTorch");
        try (NDManager m = NDManager.newBaseManager()) {
            System.out.println("engine=" + engine.getEngineName() + " version=" + engine.getVersion() + " sum="
                    + m.create(new float[] {1, 2, 3}).sum().getFloat());
        }
    }
}
