import { startFakeProvider } from '/work/main/test/support/fakeProvider';
startFakeProvider({ port: 9911 }).then((f) => console.log('fake at', f.url));
