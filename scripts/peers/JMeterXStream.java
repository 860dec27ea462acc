// Runs Apache JMeter 2.13 (Debian's jmeter package) on Debian 12, whose
// xstream (1.4.20) denies every type unless allowed, so that JMeter's plan
// loading fails with ForbiddenClassException (see scripts/bench-peers.sh).
// It allows any type on the two XStream instances of SaveService, then hands
// over to JMeter's own entry point, NewDriver.main, with the same arguments.
// Built and run by scripts/bench-peers.sh with the JDK's javac; the class
// path holds JMeter's jars so that SaveService here is the one JMeter uses.
import com.thoughtworks.xstream.XStream;
import com.thoughtworks.xstream.security.AnyTypePermission;
import java.lang.reflect.Field;

public class JMeterXStream {
    public static void main(String[] args) throws Exception {
        String home = System.getProperty("jmeter.home", "/usr/share/jmeter");
        Class<?> utils = Class.forName("org.apache.jmeter.util.JMeterUtils");
        utils.getMethod("setJMeterHome", String.class).invoke(null, home);
        utils.getMethod("loadJMeterProperties", String.class)
            .invoke(null, home + "/bin/jmeter.properties");
        Class<?> save = Class.forName("org.apache.jmeter.save.SaveService");
        for (String name : new String[] {"JMXSAVER", "JTLSAVER"}) {
            Field f = save.getDeclaredField(name);
            f.setAccessible(true);
            ((XStream) f.get(null)).addPermission(AnyTypePermission.ANY);
        }
        Class.forName("org.apache.jmeter.NewDriver")
            .getMethod("main", String[].class).invoke(null, (Object) args);
    }
}
