package ui

/*
#cgo LDFLAGS: -lX11
#include <stdlib.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

// iconify asks the window manager to minimise an X11 window.
static int iconify(unsigned long window) {
	Display *display = XOpenDisplay(NULL);
	if (display == NULL) {
		return 0;
	}
	int ok = XIconifyWindow(display, (Window)window, DefaultScreen(display));
	XFlush(display);
	XCloseDisplay(display);
	return ok;
}

// grab copies an X11 window's pixels as RGBA into out, which holds
// width*height*4 bytes; width and height are set to the window's size
// when out is NULL.
static int grab(unsigned long window, unsigned char *out, int *width, int *height) {
	Display *display = XOpenDisplay(NULL);
	if (display == NULL) {
		return 0;
	}
	XWindowAttributes attrs;
	if (!XGetWindowAttributes(display, (Window)window, &attrs)) {
		XCloseDisplay(display);
		return 0;
	}
	if (out == NULL) {
		*width = attrs.width;
		*height = attrs.height;
		XCloseDisplay(display);
		return 1;
	}
	int w = *width < attrs.width ? *width : attrs.width;
	int h = *height < attrs.height ? *height : attrs.height;
	XImage *image = XGetImage(display, (Window)window, 0, 0, w, h, AllPlanes, ZPixmap);
	if (image == NULL) {
		XCloseDisplay(display);
		return 0;
	}
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			unsigned long p = XGetPixel(image, x, y);
			unsigned char *o = out + 4 * (y * *width + x);
			o[0] = (p & image->red_mask) >> __builtin_ctzl(image->red_mask);
			o[1] = (p & image->green_mask) >> __builtin_ctzl(image->green_mask);
			o[2] = (p & image->blue_mask) >> __builtin_ctzl(image->blue_mask);
			o[3] = 255;
		}
	}
	XDestroyImage(image);
	XCloseDisplay(display);
	return 1;
}
*/
import "C"

import (
	"image"
	"unsafe"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

// x11Window is the X11 window behind a Fyne window, 0 elsewhere.
func x11Window(w fyne.Window) C.ulong {
	var handle C.ulong
	if native, ok := w.(driver.NativeWindow); ok {
		native.RunNative(func(context any) {
			if x11, ok := context.(driver.X11WindowContext); ok {
				handle = C.ulong(x11.WindowHandle)
			}
		})
	}
	return handle
}

// minimise minimises the window where the system can (X11); elsewhere
// the window stays as it is, which keeps the app running too.
func minimise(w fyne.Window) {
	if handle := x11Window(w); handle != 0 {
		C.iconify(handle)
	}
}

// grabWindow reads the window's pixels from the X server: what is on the
// screen, where reading back the GL front buffer finds nothing (Xvfb).
func grabWindow(w fyne.Window) (image.Image, bool) {
	handle := x11Window(w)
	if handle == 0 {
		return nil, false
	}
	var width, height C.int
	if C.grab(handle, nil, &width, &height) == 0 || width <= 0 || height <= 0 {
		return nil, false
	}
	img := image.NewRGBA(image.Rect(0, 0, int(width), int(height)))
	if C.grab(handle, (*C.uchar)(unsafe.Pointer(&img.Pix[0])), &width, &height) == 0 {
		return nil, false
	}
	return img, true
}
