import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

/**
 * Runs Debian's JMeter 2.13 on Java 17.
 *
 * JMeter 2.13 ships with a newer XStream that forbids every type by default, so loading a
 * plan fails with ForbiddenClassException (org.apache.jmeter.save.ScriptWrapper). This
 * launcher loads JMeter's properties, grants AnyTypePermission on every XStream held in a
 * static field of SaveService, then starts JMeter with the given arguments.
 * Used only for JMeter 2.x; JMeter 5.x is started with its own `jmeter` script.
 */
public final class Jmeter2Launcher {
    private Jmeter2Launcher() {
    }

    public static void main(String[] args) throws Exception {
        String home = System.getProperty("jmeter.home", "/usr/share/jmeter");
        Class<?> utils = Class.forName("org.apache.jmeter.util.JMeterUtils");
        utils.getMethod("setJMeterHome", String.class).invoke(null, home);
        utils.getMethod("loadJMeterProperties", String.class)
                .invoke(null, home + "/bin/jmeter.properties");
        allowAllTypes(Class.forName("org.apache.jmeter.save.SaveService"));
        Class<?> jmeter = Class.forName("org.apache.jmeter.JMeter");
        Object instance = jmeter.getDeclaredConstructor().newInstance();
        jmeter.getMethod("start", String[].class).invoke(instance, (Object) args);
    }

    private static void allowAllTypes(Class<?> saveService) throws Exception {
        Class<?> xstream = Class.forName("com.thoughtworks.xstream.XStream");
        Class<?> typePermission = Class.forName("com.thoughtworks.xstream.security.TypePermission");
        Object any = Class.forName("com.thoughtworks.xstream.security.AnyTypePermission")
                .getField("ANY").get(null);
        for (Field field : saveService.getDeclaredFields()) {
            if (!Modifier.isStatic(field.getModifiers())
                    || !xstream.isAssignableFrom(field.getType())) {
                continue;
            }
            field.setAccessible(true);
            Object stream = field.get(null);
            if (stream != null) {
                xstream.getMethod("addPermission", typePermission).invoke(stream, any);
            }
        }
    }
}
